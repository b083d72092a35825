/**
 * The one check the static ones cannot replace: does the bundled onnxruntime actually load the model?
 * (Shape-inference failures, attribute values an operator rejects, kernels missing for a type, …)
 * @module
 */
import ort from 'onnxruntime-node';
import { ConverterError } from '../errors.js';
import { modelForRuntime } from '../model-file.js';
import type { ValidationIssue } from './codes.js';

/**
 * Create (and release) an onnxruntime session; return the refusal as an ORT_LOAD_FAILED issue. A path is read as
 * the classifier reads it (external data from beside the model), so what passes here loads there.
 */
export async function checkOnnxruntimeLoads(
  source: string | Uint8Array,
): Promise<ValidationIssue | undefined> {
  let model: string | Uint8Array = source;
  if (typeof source === 'string') {
    try {
      model = await modelForRuntime(source, 'MODEL_UNREADABLE');
    } catch (err) {
      if (!(err instanceof ConverterError)) throw err;
      const code = err.code === 'EXTERNAL_DATA_PATH' ? err.code : 'EXTERNAL_DATA_MISSING';
      return { code, message: err.message };
    }
  }
  try {
    const session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, { logSeverityLevel: 3 })
        : await ort.InferenceSession.create(model, { logSeverityLevel: 3 });
    await session.release();
    return undefined;
  } catch (err) {
    // onnxruntime prefixes its C++ source location; keep the part a person can act on.
    const message = String((err as Error).message ?? err)
      .replace(/^Load model from .*? failed:/, '')
      .replace(/^\S*onnxruntime_src\S* \S.*?\) /, '')
      .trim();
    return { code: 'ORT_LOAD_FAILED', message: `onnxruntime-node refuses the model: ${message}` };
  }
}

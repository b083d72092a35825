/**
 * The one check the static ones cannot replace: does the bundled onnxruntime actually load the model?
 * (Shape-inference failures, attribute values an operator rejects, kernels missing for a type, …)
 * @module
 */
import ort from 'onnxruntime-node';
import type { ValidationIssue } from './codes.js';

/** Create (and release) an onnxruntime session; return the refusal as an ORT_LOAD_FAILED issue. */
export async function checkOnnxruntimeLoads(
  source: string | Uint8Array,
): Promise<ValidationIssue | undefined> {
  try {
    const session =
      typeof source === 'string'
        ? await ort.InferenceSession.create(source, { logSeverityLevel: 3 })
        : await ort.InferenceSession.create(source, { logSeverityLevel: 3 });
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

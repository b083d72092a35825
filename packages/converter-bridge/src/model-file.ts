/**
 * Model files for onnxruntime-node in this package (load check, parity, quantization): read by `@mtailor/core`'s
 * one model-file reader, so external data is found beside the model from any working directory, exactly as the
 * classifier and the server find it.
 * @module
 */
import { ConverterError, type ConverterErrorCode } from './errors.js';

/**
 * `file` as onnxruntime should be given it: self-contained bytes (external data inlined from the model's folder),
 * or its path for a model over 2 GB. core's typed errors keep their code (`EXTERNAL_DATA_MISSING`,
 * `EXTERNAL_DATA_PATH`); an unreadable model file becomes `unreadable`.
 *
 * @throws {ConverterError} EXTERNAL_DATA_MISSING, EXTERNAL_DATA_PATH, or `unreadable`.
 */
export async function modelForRuntime(
  file: string,
  unreadable: ConverterErrorCode,
): Promise<Uint8Array | string> {
  const { readModelFile } = await import('@mtailor/core/internal');
  try {
    return (await readModelFile(file)).model;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new ConverterError(
      code === 'EXTERNAL_DATA_MISSING' || code === 'EXTERNAL_DATA_PATH' ? code : unreadable,
      (err as Error).message,
      { cause: err },
    );
  }
}

/**
 * One result as `mtailor classify --json` prints it and `--out` stores it: `{"file", "predictions", "timings"}` or
 * `{"file", "error": {code, message}}`.
 * @module
 */
import type { ClassifyTimings, Prediction, StreamItem } from '@mtailor/core';

/** A classified input, or the typed error that stopped it. */
export type ResultRecord =
  | { file: string; predictions: Prediction[]; timings: ClassifyTimings }
  | { file: string; error: { code: string; message: string } };

/** The record of one stream item, named by `file` (the input as listed). */
export function recordOf(file: string, item: StreamItem): ResultRecord {
  return item.ok
    ? { file, predictions: item.predictions, timings: item.timings }
    : { file, error: { code: item.error.code, message: item.error.message } };
}

/** The record as one JSON line, newline included. */
export function recordLine(record: ResultRecord): string {
  return `${JSON.stringify(record)}\n`;
}

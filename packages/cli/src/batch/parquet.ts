/**
 * The Parquet form of a shard's results (`--format parquet`), written by hyparquet-writer one row group at a time
 * so memory stays bounded however large the shard: one row per input, the same facts as a JSON line.
 *
 * Columns: `file` (the input as listed), `top1Index`, `top1Label`, `top1Probability` (null for an error),
 * `predictions` and `timings` (the JSON line's arrays/objects, as JSON text), `errorCode`, `errorMessage` (null
 * for a success).
 * @module
 */
import { unlink } from 'node:fs/promises';
import { fileWriter, ParquetWriter } from 'hyparquet-writer';
import { asidePath, syncFile } from './commit.js';
import type { ResultRecord } from './records.js';

/** Rows per row group: a few MB of column data, so a reader can skip through a large shard. */
const ROWS_PER_GROUP = 10_000;

const STRING = { type: 'BYTE_ARRAY', converted_type: 'UTF8' } as const;
const JSON_TEXT = { type: 'BYTE_ARRAY', converted_type: 'JSON' } as const;

const SCHEMA = [
  { name: 'root', num_children: 8 },
  { name: 'file', ...STRING, repetition_type: 'REQUIRED' },
  { name: 'top1Index', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'top1Label', ...STRING, repetition_type: 'OPTIONAL' },
  { name: 'top1Probability', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'predictions', ...JSON_TEXT, repetition_type: 'OPTIONAL' },
  { name: 'timings', ...JSON_TEXT, repetition_type: 'OPTIONAL' },
  { name: 'errorCode', ...STRING, repetition_type: 'OPTIONAL' },
  { name: 'errorMessage', ...STRING, repetition_type: 'OPTIONAL' },
] as const;

/** Writes result records to a temporary Parquet file, a row group at a time. */
export class ParquetRecordWriter {
  readonly tmpPath: string;
  #writer: ParquetWriter;
  #rows: ResultRecord[] = [];

  constructor(tmpDir: string, hint: string) {
    this.tmpPath = asidePath(tmpDir, hint);
    this.#writer = new ParquetWriter({
      writer: fileWriter(this.tmpPath),
      schema: SCHEMA.map((e) => ({ ...e })),
      createdBy: 'mtailor classify',
    });
  }

  /** Adds one record; a full row group is encoded and written. */
  async append(record: ResultRecord): Promise<void> {
    this.#rows.push(record);
    if (this.#rows.length >= ROWS_PER_GROUP) await this.#flush();
  }

  async #flush(): Promise<void> {
    const rows = this.#rows;
    if (rows.length === 0) return;
    this.#rows = [];
    const top1 = rows.map((r) => ('predictions' in r ? r.predictions[0] : undefined));
    const column = <T>(name: string, data: T[]) => ({ name, data });
    await this.#writer.write({
      columnData: [
        column(
          'file',
          rows.map((r) => r.file),
        ),
        column(
          'top1Index',
          top1.map((p) => p?.index ?? null),
        ),
        column(
          'top1Label',
          top1.map((p) => p?.label ?? null),
        ),
        column(
          'top1Probability',
          top1.map((p) => p?.probability ?? null),
        ),
        column(
          'predictions',
          rows.map((r) => ('predictions' in r ? JSON.stringify(r.predictions) : null)),
        ),
        column(
          'timings',
          rows.map((r) => ('timings' in r ? JSON.stringify(r.timings) : null)),
        ),
        column(
          'errorCode',
          rows.map((r) => ('error' in r ? r.error.code : null)),
        ),
        column(
          'errorMessage',
          rows.map((r) => ('error' in r ? r.error.message : null)),
        ),
      ],
      rowGroupSize: ROWS_PER_GROUP,
    });
  }

  /** Writes the last row group and the footer, and flushes the file to disk. */
  async finish(): Promise<void> {
    await this.#flush();
    await this.#writer.finish();
    await syncFile(this.tmpPath);
  }

  /** Deletes the unfinished file. */
  async discard(): Promise<void> {
    await unlink(this.tmpPath).catch(() => {});
  }
}

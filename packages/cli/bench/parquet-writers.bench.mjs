/**
 * Measures Parquet writers for `mtailor classify --format parquet`: time, peak memory (RSS) and file size for the
 * same rows as the CLI writes (file, top-1 columns, predictions and timings as JSON, error columns), 10 000 rows
 * per row group. Each writer runs in its own process so their memory does not mix.
 *
 * The candidates are not dependencies of the package: install them in a scratch folder and point at it:
 *   npm install --prefix /tmp/pq hyparquet-writer@0.17.0 @dsnp/parquetjs@1.8.9 parquet-wasm@0.8.0 apache-arrow@21
 *   PARQUET_CANDIDATES=/tmp/pq/node_modules node packages/cli/bench/parquet-writers.bench.mjs [rows]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROWS_PER_GROUP = 10_000;
const modules = process.env.PARQUET_CANDIDATES;
if (!modules) throw new Error('set PARQUET_CANDIDATES to a node_modules folder holding the candidates');
const load = (name) => import(pathToFileURL(createRequire(path.join(modules, 'x.js')).resolve(name)).href);

/** A row like the CLI's: 5 predictions of ImageNet labels, one error in 500. */
function row(i) {
  if (i % 500 === 499)
    return {
      file: `images/n${String(i).padStart(8, '0')}.JPEG`,
      error: { code: 'INVALID_IMAGE', message: 'Input buffer contains unsupported image format' },
    };
  const predictions = Array.from({ length: 5 }, (_, k) => ({
    index: (i * 7 + k * 13) % 1000,
    label: `label number ${(i * 7 + k * 13) % 1000}`,
    probability: 1 / (k + 2) + (i % 97) / 1e4,
  }));
  return {
    file: `images/n${String(i).padStart(8, '0')}.JPEG`,
    predictions,
    timings: {
      decodeMs: 2.1 + (i % 13) / 10,
      preprocessMs: 1.3,
      queueMs: 0.4,
      inferenceMs: 2.6,
      totalMs: 6.4,
    },
  };
}

function columns(rows) {
  return {
    file: rows.map((r) => r.file),
    top1Index: rows.map((r) => (r.predictions ? r.predictions[0].index : null)),
    top1Label: rows.map((r) => (r.predictions ? r.predictions[0].label : null)),
    top1Probability: rows.map((r) => (r.predictions ? r.predictions[0].probability : null)),
    predictions: rows.map((r) => (r.predictions ? JSON.stringify(r.predictions) : null)),
    timings: rows.map((r) => (r.timings ? JSON.stringify(r.timings) : null)),
    errorCode: rows.map((r) => r.error?.code ?? null),
    errorMessage: rows.map((r) => r.error?.message ?? null),
  };
}

const writers = {
  async 'hyparquet-writer'(file, total) {
    const { ParquetWriter, fileWriter } = await load('hyparquet-writer');
    const writer = new ParquetWriter({
      writer: fileWriter(file),
      schema: [
        { name: 'root', num_children: 8 },
        { name: 'file', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        { name: 'top1Index', type: 'INT32', repetition_type: 'OPTIONAL' },
        { name: 'top1Label', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'top1Probability', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
        { name: 'predictions', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
        { name: 'timings', type: 'BYTE_ARRAY', converted_type: 'JSON', repetition_type: 'OPTIONAL' },
        { name: 'errorCode', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
        { name: 'errorMessage', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
      ],
    });
    for (let start = 0; start < total; start += ROWS_PER_GROUP) {
      const rows = Array.from({ length: Math.min(ROWS_PER_GROUP, total - start) }, (_, k) => row(start + k));
      const c = columns(rows);
      await writer.write({
        columnData: Object.entries(c).map(([name, data]) => ({ name, data })),
        rowGroupSize: ROWS_PER_GROUP,
      });
    }
    writer.finish();
  },
  async '@dsnp/parquetjs'(file, total) {
    const parquet = (await load('@dsnp/parquetjs')).default ?? (await load('@dsnp/parquetjs'));
    const schema = new parquet.ParquetSchema({
      file: { type: 'UTF8' },
      top1Index: { type: 'INT32', optional: true },
      top1Label: { type: 'UTF8', optional: true },
      top1Probability: { type: 'DOUBLE', optional: true },
      predictions: { type: 'UTF8', optional: true },
      timings: { type: 'UTF8', optional: true },
      errorCode: { type: 'UTF8', optional: true },
      errorMessage: { type: 'UTF8', optional: true },
    });
    const writer = await parquet.ParquetWriter.openFile(schema, file, { compression: 'SNAPPY' });
    writer.setRowGroupSize(ROWS_PER_GROUP);
    for (let i = 0; i < total; i++) {
      const r = row(i);
      await writer.appendRow({
        file: r.file,
        ...(r.predictions && {
          top1Index: r.predictions[0].index,
          top1Label: r.predictions[0].label,
          top1Probability: r.predictions[0].probability,
          predictions: JSON.stringify(r.predictions),
          timings: JSON.stringify(r.timings),
        }),
        ...(r.error && { errorCode: r.error.code, errorMessage: r.error.message }),
      });
    }
    await writer.close();
  },
  async 'parquet-wasm'(file, total) {
    const arrow = await load('apache-arrow');
    const pq = await load('parquet-wasm/node');
    const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).build();
    // parquet-wasm writes a whole Arrow table held in memory (there is no row-group-at-a-time writer to a file).
    const table = arrow.tableFromArrays(columns(Array.from({ length: total }, (_, i) => row(i))));
    const bytes = pq.writeParquet(pq.Table.fromIPCStream(arrow.tableToIPC(table, 'stream')), props);
    writeFileSync(file, bytes);
  },
};

const [, , child, childFile, childRows] = process.argv;
if (child && writers[child]) {
  const start = performance.now();
  await writers[child](childFile, Number(childRows));
  const ms = performance.now() - start;
  process.stdout.write(JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
} else {
  const rows = Number(process.argv[2] ?? 200_000);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-parquet-bench-'));
  const self = fileURLToPath(import.meta.url);
  const baseline = JSON.parse(
    execFileSync(process.execPath, [
      '-e',
      'process.stdout.write(JSON.stringify({maxRssMB: process.resourceUsage().maxRSS/1024}))',
    ]),
  );
  console.log(
    `rows ${rows}; ${os.cpus().length} CPUs; load ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}; empty node RSS ${baseline.maxRssMB.toFixed(0)} MB`,
  );
  for (const name of Object.keys(writers)) {
    const runs = [];
    for (let k = 0; k < 3; k++) {
      const file = path.join(dir, `${name.replace(/\W/g, '_')}.parquet`);
      const out = JSON.parse(
        execFileSync(process.execPath, [self, name, file, String(rows)], { env: process.env }).toString(),
      );
      runs.push({ ...out, bytes: statSync(file).size });
    }
    runs.sort((a, b) => a.ms - b.ms);
    const mid = runs[1];
    console.log(
      `${name.padEnd(18)} ${mid.ms.toFixed(0)} ms [${runs[0].ms.toFixed(0)}–${runs[2].ms.toFixed(0)}]  peak RSS ${mid.maxRssMB.toFixed(0)} MB [${Math.min(...runs.map((r) => r.maxRssMB)).toFixed(0)}–${Math.max(...runs.map((r) => r.maxRssMB)).toFixed(0)}]  file ${(mid.bytes / 1e6).toFixed(2)} MB`,
    );
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Initializer checks: embedded data sizes fit dims × type; external-data files exist inside the model folder and
 * are long enough. Also totals the weight bytes.
 * @module
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import type { Findings } from './findings.js';
import {
  elementBits,
  elementCount,
  elementTypeName,
  externalDataEntries,
  type GraphProto,
  isExternal,
  type TensorProto,
} from './onnx-proto.js';

/** Bytes the tensor's data should take (undefined for strings/unknown types). */
function expectedBytes(t: TensorProto): number | undefined {
  const bits = elementBits(t.dataType);
  return bits ? Math.ceil((elementCount(t.dims) * bits) / 8) : undefined;
}

/** Number of values stored in the typed repeated fields (complex types store two per element). */
function typedValueCount(t: TensorProto): number {
  return (
    (t.floatData?.length ?? 0) +
    (t.int32Data?.length ?? 0) +
    (t.int64Data?.length ?? 0) +
    (t.doubleData?.length ?? 0) +
    (t.uint64Data?.length ?? 0) +
    (t.stringData?.length ?? 0)
  );
}

/**
 * Check every initializer; `baseDir` is the folder external-data locations are relative to (undefined when the
 * model came as bytes without one). Returns the total bytes of all initializers.
 */
export function checkInitializers(
  graph: GraphProto,
  findings: Findings,
  baseDir: string | undefined,
): number {
  let total = 0;
  let uncheckedExternal = 0;
  for (const t of graph.initializer ?? []) {
    const expected = expectedBytes(t);
    total += expected ?? t.rawData?.length ?? 0;
    const name = `Initializer '${t.name}' (${elementTypeName(t.dataType)} [${(t.dims ?? []).join(', ')}])`;
    if (isExternal(t)) {
      if (baseDir === undefined) uncheckedExternal++;
      else checkExternal(t, name, expected, baseDir, findings);
      continue;
    }
    if (expected === undefined) continue;
    const raw = t.rawData?.length ?? 0;
    const count = elementCount(t.dims);
    const perElement = elementTypeName(t.dataType).startsWith('complex') ? 2 : 1;
    if (raw > 0 && raw !== expected)
      findings.add('INITIALIZER_DATA_SIZE', `${name} holds ${raw} bytes of raw data, expected ${expected}`);
    else if (
      raw === 0 &&
      count > 0 &&
      elementBits(t.dataType) >= 8 &&
      typedValueCount(t) !== count * perElement
    )
      findings.add(
        'INITIALIZER_DATA_SIZE',
        `${name} holds ${typedValueCount(t)} values, expected ${count * perElement}`,
      );
  }
  if (uncheckedExternal)
    findings.add(
      'EXTERNAL_DATA_UNCHECKED',
      `${uncheckedExternal} initializers use external data; pass the model path (or baseDir) to check their files`,
    );
  return total;
}

function checkExternal(
  t: TensorProto,
  name: string,
  expected: number | undefined,
  baseDir: string,
  findings: Findings,
): void {
  const entries = externalDataEntries(t);
  const location = entries.get('location');
  if (!location) {
    findings.add('EXTERNAL_DATA_MISSING', `${name} is marked external but has no location`);
    return;
  }
  const normalized = path.normalize(location);
  if (path.isAbsolute(location) || normalized === '..' || normalized.startsWith(`..${path.sep}`)) {
    findings.add('EXTERNAL_DATA_PATH', `${name} points to '${location}', outside the model folder`);
    return;
  }
  const file = path.join(baseDir, normalized);
  let size: number;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) throw new Error('not a file');
    size = stat.size;
  } catch {
    findings.add(
      'EXTERNAL_DATA_MISSING',
      `${name} is stored in '${location}', which does not exist beside the model`,
    );
    return;
  }
  const offset = Number(entries.get('offset') ?? 0);
  const lengthText = entries.get('length');
  const length = lengthText === undefined ? expected : Number(lengthText);
  if (lengthText !== undefined && expected !== undefined && length !== expected)
    findings.add(
      'EXTERNAL_DATA_SIZE',
      `${name} declares length ${length} bytes, but its dims and type need ${expected}`,
    );
  else if (length !== undefined && offset + length > size)
    findings.add(
      'EXTERNAL_DATA_SIZE',
      `${name} needs bytes ${offset}..${offset + length} of '${location}', which has only ${size} bytes`,
    );
}

/**
 * Graph structure checks: every node input defined before use (topological order, no dangling names), no name
 * produced twice, graph outputs defined, initializers used, operator types known for the model's opset.
 * @module
 */
import { domainName, type OpsetImport } from './check-header.js';
import type { Findings } from './findings.js';
import { ONNX_OP_TABLE, OP_TABLE_MAX_OPSET } from './onnx-op-table.js';
import type { GraphProto, NodeProto } from './onnx-proto.js';

const label = (node: NodeProto, index: number): string =>
  `node #${index} ${node.opType ?? '?'}${node.name ? ` '${node.name}'` : ''}`;

/** Subgraphs held by a node's attributes (If/Loop/Scan bodies). */
function subgraphs(node: NodeProto): GraphProto[] {
  const out: GraphProto[] = [];
  for (const attr of node.attribute ?? []) {
    if (attr.g) out.push(attr.g);
    for (const g of attr.graphs ?? []) out.push(g);
  }
  return out;
}

/**
 * Check the graph's data flow. Names from enclosing graphs (`outer`) are visible in subgraphs, as in ONNX.
 * Returns every tensor name read anywhere (including subgraphs), for the unused-initializer check.
 */
export function checkTopology(
  graph: GraphProto,
  findings: Findings,
  outer: ReadonlySet<string> = new Set(),
): Set<string> {
  const defined = new Set(outer);
  const read = new Set<string>();
  const initializerNames = new Set<string>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    if (initializerNames.has(name))
      findings.add('DUPLICATE_INITIALIZER', `Initializer '${name}' is defined twice`);
    initializerNames.add(name);
    defined.add(name);
  }
  for (const v of graph.input ?? []) defined.add(v.name ?? '');

  const nodes = graph.node ?? [];
  const firstProducer = new Map<string, number>();
  nodes.forEach((node, i) => {
    for (const out of node.output ?? []) if (out && !firstProducer.has(out)) firstProducer.set(out, i);
  });

  nodes.forEach((node, i) => {
    for (const name of node.input ?? []) {
      if (!name) continue; // "" marks an omitted optional input
      read.add(name);
      if (defined.has(name)) continue;
      const producer = firstProducer.get(name);
      if (producer !== undefined)
        findings.add(
          'NODE_ORDER',
          `${label(node, i)} reads '${name}', which is produced later by ${label(nodes[producer]!, producer)}`,
        );
      else
        findings.add(
          'DANGLING_INPUT',
          `${label(node, i)} reads '${name}', which is no graph input, initializer or node output`,
        );
    }
    for (const g of subgraphs(node)) for (const name of checkTopology(g, findings, defined)) read.add(name);
    for (const name of node.output ?? []) {
      if (!name) continue;
      if (defined.has(name) && !outer.has(name))
        findings.add('DUPLICATE_OUTPUT', `${label(node, i)} produces '${name}', which is already defined`);
      defined.add(name);
    }
  });

  for (const out of graph.output ?? []) {
    const name = out.name ?? '';
    read.add(name);
    if (!defined.has(name))
      findings.add('OUTPUT_UNDEFINED', `Graph output '${name}' is produced by no node, input or initializer`);
  }
  return read;
}

/** Warn about initializers nothing reads (dead weight; often a sign of a broken export). */
export function checkUnusedInitializers(
  graph: GraphProto,
  read: ReadonlySet<string>,
  findings: Findings,
): void {
  for (const t of graph.initializer ?? []) {
    if (!read.has(t.name ?? '')) findings.add('UNUSED_INITIALIZER', `Initializer '${t.name}' is never used`);
  }
}

/** All nodes of the graph and its subgraphs. */
function* allNodes(graph: GraphProto): Generator<NodeProto> {
  for (const node of graph.node ?? []) {
    yield node;
    for (const g of subgraphs(node)) yield* allNodes(g);
  }
}

/** Check operator types against the op table and operator domains against opset_import. */
export function checkOperators(
  graph: GraphProto,
  opsets: readonly OpsetImport[],
  defaultOpset: number | undefined,
  findings: Findings,
): Record<string, number> {
  const opTypes: Record<string, number> = {};
  const imported = new Set(opsets.map((o) => o.domain));
  const customDomains = new Map<string, Set<string>>();
  for (const node of allNodes(graph)) {
    const domain = domainName(node.domain);
    const op = node.opType ?? '';
    const key = domain === 'ai.onnx' ? op : `${domain}::${op}`;
    opTypes[key] = (opTypes[key] ?? 0) + 1;
    if (domain !== 'ai.onnx') {
      const ops = customDomains.get(domain) ?? new Set<string>();
      ops.add(op);
      customDomains.set(domain, ops);
    }
  }
  for (const [domain, ops] of customDomains) {
    if (!imported.has(domain))
      findings.add(
        'DOMAIN_NOT_IMPORTED',
        `Nodes use domain '${domain}' (${[...ops].join(', ')}) but opset_import does not declare it`,
      );
  }
  if (customDomains.size)
    findings.add(
      'CUSTOM_DOMAIN',
      `Operators of other domains (not checked): ${[...customDomains].map(([d, ops]) => `${d}: ${[...ops].join(', ')}`).join('; ')}`,
    );
  if (defaultOpset === undefined) return sortKeys(opTypes);

  const unverifiable: string[] = [];
  for (const [op, count] of Object.entries(opTypes)) {
    if (op.includes('::')) continue;
    const entry = ONNX_OP_TABLE[op];
    const uses = `${count} node${count > 1 ? 's' : ''}`;
    if (!entry) {
      if (defaultOpset > OP_TABLE_MAX_OPSET) unverifiable.push(op);
      else
        findings.add(
          'UNKNOWN_OP',
          `Operator '${op}' (${uses}) does not exist in ai.onnx opset ${defaultOpset}`,
        );
      continue;
    }
    const since = entry.since[0] ?? 1;
    if (since > defaultOpset)
      findings.add(
        'OP_NOT_IN_OPSET',
        `Operator '${op}' (${uses}) needs ai.onnx opset ≥ ${since}; the model imports ${defaultOpset}`,
      );
    else if (entry.deprecatedSince !== undefined && entry.deprecatedSince <= defaultOpset)
      findings.add(
        'OP_NOT_IN_OPSET',
        `Operator '${op}' (${uses}) was removed in ai.onnx opset ${entry.deprecatedSince}; the model imports ${defaultOpset}`,
      );
  }
  if (unverifiable.length)
    findings.add(
      'OPSET_BEYOND_TABLE',
      `Operators not in the op table (opset ≤ ${OP_TABLE_MAX_OPSET}), unverified: ${unverifiable.join(', ')}`,
    );
  return sortKeys(opTypes);
}

const sortKeys = (r: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)));

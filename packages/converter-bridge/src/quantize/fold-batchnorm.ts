/**
 * BatchNormalization folding: `Conv → BatchNormalization` (inference mode, constant statistics) becomes one Conv
 * with scaled weights and a shifted bias. Done before calibration so the ranges, the per-channel weight scales and
 * the int32 bias all describe the arithmetic the int8 kernel will do (a BatchNormalization left between a Conv
 * and its QuantizeLinear would keep the Conv from fusing into QLinearConv).
 * @module
 */
import {
  attrFloat,
  attrInt,
  dimsOf,
  floatTensor,
  GraphIndex,
  type LoadedModel,
  type NameAllocator,
  readFloats,
} from './graph.js';

/**
 * Fold every BatchNormalization that directly follows a Conv whose output nothing else reads. Edits `model` in
 * place; the superseded float weights are left for {@link pruneDeadCode}.
 *
 * @returns The names of the folded BatchNormalization nodes.
 */
export function foldBatchNorms(model: LoadedModel, names: NameAllocator): string[] {
  const graph = model.graph;
  const index = new GraphIndex(graph);
  const folded: string[] = [];
  const removed = new Set<object>();
  for (const bn of graph.node ?? []) {
    if (bn.opType !== 'BatchNormalization' || bn.domain) continue;
    if (attrInt(bn, 'training_mode', 0) !== 0) continue;
    if ((bn.output ?? []).slice(1).some((o) => o && index.readers(o).length > 0)) continue;
    const x = bn.input?.[0] ?? '';
    const conv = index.producer.get(x);
    if (conv?.opType !== 'Conv' || conv.domain) continue;
    if (index.readers(x).length !== 1 || index.outputs.has(x)) continue;
    const w = index.floatConstant(conv.input?.[1]);
    const params = [1, 2, 3, 4].map((i) => index.floatConstant(bn.input?.[i]));
    if (!w || params.some((p) => !p)) continue;
    const [scale, shift, mean, variance] = params.map((p) => readFloats(p!)) as [
      Float32Array,
      Float32Array,
      Float32Array,
      Float32Array,
    ];
    const dims = dimsOf(w);
    const channels = dims[0] ?? 0;
    if ([scale, shift, mean, variance].some((p) => p.length !== channels)) continue;
    const biasTensor = conv.input?.[2] ? index.floatConstant(conv.input[2]) : undefined;
    if (conv.input?.[2] && !biasTensor) continue;
    const bias = biasTensor ? readFloats(biasTensor) : new Float32Array(channels);
    const eps = attrFloat(bn, 'epsilon', 1e-5);
    const weights = readFloats(w);
    const per = weights.length / channels;
    const newWeights = new Float32Array(weights.length);
    const newBias = new Float32Array(channels);
    for (let c = 0; c < channels; c++) {
      const f = scale[c]! / Math.sqrt(variance[c]! + eps);
      for (let k = c * per; k < (c + 1) * per; k++) newWeights[k] = weights[k]! * f;
      newBias[c] = (bias[c]! - mean[c]!) * f + shift[c]!;
    }
    const wName = names.take(`${w.name}_bn_folded`);
    const bName = names.take(`${biasTensor?.name ?? `${conv.name || 'conv'}.bias`}_bn_folded`);
    graph.initializer = [
      ...(graph.initializer ?? []),
      floatTensor(wName, dims, newWeights),
      floatTensor(bName, [channels], newBias),
    ];
    conv.input = [conv.input?.[0] ?? '', wName, bName];
    conv.output = [bn.output?.[0] ?? ''];
    removed.add(bn);
    folded.push(bn.name ?? '');
  }
  graph.node = (graph.node ?? []).filter((n) => !removed.has(n));
  return folded;
}

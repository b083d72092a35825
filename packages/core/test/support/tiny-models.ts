/**
 * Tiny ONNX models made in the test with the `onnx` Python package (real files onnxruntime loads), for
 * shapes the shared models do not have: wrong outputs, NHWC inputs, fixed batch sizes, probability outputs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { python } from '../../../../test/support/shared-data.js';

const SCRIPT = `
import sys, json, onnx
from onnx import helper, TensorProto as T
spec = json.loads(sys.argv[1]); out = sys.argv[2]
def dims(shape): return [d for d in shape]
inputs = [helper.make_tensor_value_info(i['name'], getattr(T, i.get('type', 'FLOAT')), dims(i['shape'])) for i in spec['inputs']]
outputs = [helper.make_tensor_value_info(o['name'], getattr(T, o.get('type', 'FLOAT')), dims(o['shape'])) for o in spec['outputs']]
nodes = []
kind = spec['graph']
x = spec['inputs'][0]['name']
if kind == 'gap':          # [N,3,H,W] -> mean over H,W -> [N,3] (optionally softmax / kept rank 4)
    nodes.append(helper.make_node('GlobalAveragePool', [x], ['p']))
    if spec.get('keep4'):
        nodes.append(helper.make_node('Identity', ['p'], [spec['outputs'][0]['name']]))
    else:
        nodes.append(helper.make_node('Flatten', ['p'], ['f' if spec.get('softmax') else spec['outputs'][0]['name']]))
        if spec.get('softmax'):
            nodes.append(helper.make_node('Softmax', ['f'], [spec['outputs'][0]['name']], axis=1))
elif kind == 'nhwc':       # [N,H,W,3] -> mean over H,W -> [N,3]
    nodes.append(helper.make_node('ReduceMean', [x], [spec['outputs'][0]['name']], axes=[1, 2], keepdims=0))
elif kind == 'two':        # two outputs
    nodes.append(helper.make_node('GlobalAveragePool', [x], ['p']))
    nodes.append(helper.make_node('Flatten', ['p'], [spec['outputs'][0]['name']]))
    nodes.append(helper.make_node('Identity', [spec['outputs'][0]['name']], [spec['outputs'][1]['name']]))
elif kind == 'cast':       # int input -> float output
    nodes.append(helper.make_node('Cast', [x], ['c'], to=T.FLOAT))
    nodes.append(helper.make_node('GlobalAveragePool', ['c'], ['p']))
    nodes.append(helper.make_node('Flatten', ['p'], [spec['outputs'][0]['name']]))
graph = helper.make_graph(nodes, 'tiny', inputs, outputs)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
model.ir_version = 7
onnx.checker.check_model(model)
onnx.save(model, out)
`;

/** Spec of one tiny model: its graph kind and declared inputs/outputs (dims: numbers or symbolic names). */
export interface TinyModelSpec {
  graph: 'gap' | 'nhwc' | 'two' | 'cast';
  inputs: { name: string; type?: string; shape: (number | string)[] }[];
  outputs: { name: string; type?: string; shape: (number | string)[] }[];
  softmax?: boolean;
  keep4?: boolean;
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'mtailor-tiny-'));
let counter = 0;

/** Writes the model with Python's `onnx` and returns its path. */
export function makeTinyModel(spec: TinyModelSpec): string {
  const file = path.join(dir, `tiny-${counter++}.onnx`);
  execFileSync(python, ['-c', SCRIPT, JSON.stringify(spec), file], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return file;
}

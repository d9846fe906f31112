/**
 * The ONNX graph behind layer statistics on wasm (webview/engine/statsGraph.ts runs it): a block of query rows of Q
 * and the keys up to the block's end in; per row and head the ROW_STATS figures of headStats.cpu.ts, and each
 * sub-head's log-sum-exp, out. Written here with modelBuilder, by the build (dist/stats-*.onnx), so the webview does
 * not carry an ONNX writer.
 *
 * Per block of rows i0..i0+n−1 and keys 0..Tb−1 (Tb = i0 + n): S = scale·QKᵀ + causal bias, P = softmax(S),
 * lse = log Σ exp S (as max S − log max P), entropy = lse − Σ P·S (= −Σ P log P, without a logarithm per entry), and
 * for each head a = P[idx1] − λ·P[idx2] (softmax: P[idx1]): Σ max(0, −a), #|a| < SMALL (the masked entries, a = 0,
 * are taken off by the runner), a_0 and Σ a.
 */
import { buildModel, type NodeSpec } from './modelBuilder';
import { ROW_STATS, SMALL, STATS_FILES, type StatsKind } from '../statsFiles';

export { STATS_FILES };

/**
 * The graph for any number of sub-heads, head width and heads: `scale`, and the heads' sub-heads `idx1` (A1, or A
 * for softmax) and `idx2` (A2, DIFF only), are inputs. One graph per kind, written by the build into dist/.
 */
export function statsGraph(kind: StatsKind): Uint8Array {
  const nodes: NodeSpec[] = [];
  let n = 0;
  const op = (op: string, inputs: string[], attrs?: NodeSpec['attrs']) => {
    const out = `t${n++}`;
    nodes.push({ op, inputs, outputs: [out], attrs });
    return out;
  };
  const diff = kind === 'diff';
  const ints = [
    { name: 'axis_last', dims: [1], data: [-1] },
    { name: 'c0', dims: [1], data: [0] },
    { name: 'c1', dims: [1], data: [1] },
    { name: 'c2', dims: [1], data: [2] },
  ];
  const floats = [
    { name: 'one', dims: [], data: Float32Array.of(1) },
    { name: 'big', dims: [], data: Float32Array.of(1e9) },
    { name: 'small', dims: [], data: Float32Array.of(SMALL) },
    { name: 'half', dims: [], data: Float32Array.of(0.5) },
  ];
  // Causal bias from the block's first row i0: keep j ≤ i0 + r (Trilu's k), −1e9 elsewhere.
  const shape = op('Concat', [op('Slice', [op('Shape', ['q']), 'c1', 'c2', 'c0']), op('Slice', [op('Shape', ['k']), 'c1', 'c2', 'c0'])], { axis: 0 });
  const keep = op('Trilu', [op('Expand', ['one', shape]), 'i0'], { upper: 0 });
  const bias = op('Mul', [op('Sub', [keep, 'one']), 'big']);
  // The scale goes on Q (rows × width) rather than on the logits (rows × keys): one pass fewer over the big tensor.
  const s = op('Add', [op('MatMul', [op('Mul', ['q', 'scale']), op('Transpose', ['k'], { perm: [0, 2, 1] })]), bias]);
  const p = op('Softmax', [s], { axis: -1 });
  // log Σ exp S = max S − log max P (the largest weight is 1 / Σ exp(S − max S)): two max-reductions, no third exp.
  nodes.push({ op: 'Sub', inputs: [op('ReduceMax', [s], { axes: [-1], keepdims: 0 }), op('Log', [op('ReduceMax', [p], { axes: [-1], keepdims: 0 })])], outputs: ['lse'] });
  const ent = op('Sub', ['lse', op('ReduceSum', [op('Mul', [p, s]), 'axis_last'], { keepdims: 0 })]);
  const e1 = op('Gather', [ent, 'idx1'], { axis: 0 });
  const p1 = op('Gather', [p, 'idx1'], { axis: 0 });
  let a = p1;
  let e2 = e1;
  if (diff) {
    e2 = op('Gather', [ent, 'idx2'], { axis: 0 });
    a = op('Sub', [p1, op('Mul', ['lam', op('Gather', [p, 'idx2'], { axis: 0 })])]);
  }
  const red = (x: string) => op('ReduceSum', [x, 'axis_last'], { keepdims: 0 });
  const abs = op('Abs', [a]);
  const sum = red(a);
  // Σ max(0, −a) = (Σ|a| − Σa) / 2, from |a| which the count of small entries needs anyway.
  const neg = op('Mul', [op('Sub', [red(abs), sum]), 'half']);
  const small = red(op('Cast', [op('Less', [abs, 'small'])], { to: 1 }));
  const first = op('Squeeze', [op('Slice', [a, 'c0', 'c1', 'axis_last']), 'axis_last']);
  // [ROW_STATS, heads, rows]: the figures in headStats.cpu.ts's order.
  const u = (x: string) => op('Unsqueeze', [x, 'c0']);
  nodes.push({ op: 'Concat', inputs: [u(e1), u(e2), u(neg), u(small), u(first), u(sum)], outputs: ['figures'], attrs: { axis: 0 } });
  return buildModel({
    name: 'attention-inspector-layer-stats',
    inputs: [
      { name: 'q', dims: ['subheads', 'rows', 'width'] },
      { name: 'k', dims: ['subheads', 'keys', 'width'] },
      { name: 'scale', dims: [] },
      { name: 'i0', dims: [] },
      { name: 'idx1', dims: ['heads'] },
      ...(diff ? [{ name: 'idx2', dims: ['heads'] }, { name: 'lam', dims: ['heads', 'rows', 1] }] : []),
    ],
    outputs: [
      { name: 'figures', dims: [ROW_STATS, 'heads', 'rows'] },
      { name: 'lse', dims: ['subheads', 'rows'] },
    ],
    initializers: floats,
    int64Initializers: ints,
    nodes,
    opset: 17,
    int64Inputs: ['i0', 'idx1', 'idx2'],
  });
}


/**
 * The attention maths' CPU reference (DESIGN.md §2), recomputed from the Q/K a model package outputs.
 * Everything reads tensors through the manifest's layout, so a graph with another axis order works unchanged.
 */
import type { Manifest } from './manifest';

export type Axis = Manifest['outputs']['q']['layout'][number];

/** Dims with named axes: strides and sizes by axis name. */
export class Strided {
  private readonly strides = new Map<Axis, number>();
  readonly size = new Map<Axis, number>();

  constructor(readonly dims: readonly number[], readonly layout: readonly Axis[]) {
    if (dims.length !== layout.length) throw new Error(`tensor has ${dims.length} dims but its layout names ${layout.length} axes (${layout.join(', ')})`);
    let s = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      this.strides.set(layout[i], s);
      this.size.set(layout[i], dims[i]);
      s *= dims[i];
    }
  }

  get length(): number {
    return this.dims.reduce((a, b) => a * b, 1);
  }

  offset(index: Partial<Record<Axis, number>>): number {
    let o = 0;
    for (const [axis, i] of Object.entries(index) as [Axis, number][]) {
      const st = this.strides.get(axis);
      if (st === undefined) throw new Error(`tensor has no axis "${axis}"`);
      o += i * st;
    }
    return o;
  }

  dim(axis: Axis): number {
    const n = this.size.get(axis);
    if (n === undefined) throw new Error(`tensor has no axis "${axis}"`);
    return n;
  }

  stride(axis: Axis): number {
    return this.strides.get(axis) ?? 0;
  }
}


/** A Float32Array with named axes; `offset(index)` finds one element by axis name. */
export class Tensor extends Strided {
  constructor(readonly data: Float32Array, dims: readonly number[], layout: readonly Axis[]) {
    super(dims, layout);
    if (data.length !== this.length) throw new Error(`tensor has ${data.length} values, dims ${dims.join('×')} need ${this.length}`);
  }
}

/** Writes scale·q[s, i]·k[s, j] for j ≤ i into out[0..i]; tight loops over precomputed strides. */
export function logitRow(q: Tensor, k: Tensor, s: number, i: number, scale: number, out: Float64Array): void {
  const d = k.dim('dim');
  const qd = q.stride('dim');
  const kd = k.stride('dim');
  const kt = k.stride('token');
  const qo = s * q.stride('qkHead') + i * q.stride('token');
  const kb = s * k.stride('qkHead');
  const qv = q.data;
  const kv = k.data;
  if (qd === 1 && kd === 1) {
    for (let j = 0; j <= i; j++) {
      const ko = kb + j * kt;
      let acc = 0;
      for (let c = 0; c < d; c++) acc += qv[qo + c] * kv[ko + c];
      out[j] = acc * scale;
    }
  } else {
    for (let j = 0; j <= i; j++) {
      const ko = kb + j * kt;
      let acc = 0;
      for (let c = 0; c < d; c++) acc += qv[qo + c * qd] * kv[ko + c * kd];
      out[j] = acc * scale;
    }
  }
}

/**
 * One causal softmax row: softmax(scale · q_query · k_j) over j ≤ query, exactly 0 for j > query.
 * Accumulates in float64 and subtracts the row max, like the WGSL kernels.
 */
export function softmaxRow(q: Tensor, k: Tensor, qkHead: number, query: number, scale: number): Float32Array {
  const T = k.dim('token');
  const out = new Float32Array(T);
  const logits = new Float64Array(query + 1);
  logitRow(q, k, qkHead, query, scale, logits);
  let max = -Infinity;
  for (let j = 0; j <= query; j++) if (logits[j] > max) max = logits[j];
  let sum = 0;
  for (let j = 0; j <= query; j++) sum += (logits[j] = Math.exp(logits[j] - max));
  for (let j = 0; j <= query; j++) out[j] = logits[j] / sum;
  return out;
}

/** Which Q/K sub-heads make A1 and A2 of head `head` under a pairing convention. */
export function subHeads(pairing: Manifest['pairing'], head: number, heads: number): [number, number] {
  switch (pairing) {
    case 'interleaved':
      return [2 * head, 2 * head + 1];
    case 'halves':
      return [head, head + heads];
    case 'adjacent-query':
      return [2 * head, 2 * head + 1];
    case 'none':
      throw new Error('a softmax model has no A1/A2 pairs');
  }
}

export interface DiffRow {
  a1: Float32Array;
  a2: Float32Array;
  /** A1 − λ·A2: sums to 1 − λ; entries can be negative. */
  diff: Float32Array;
}

export function diffRow(q: Tensor, k: Tensor, m: Pick<Manifest, 'pairing' | 'heads' | 'scale'>, head: number, query: number, lambda: number): DiffRow {
  const [s1, s2] = subHeads(m.pairing, head, m.heads);
  const a1 = softmaxRow(q, k, s1, query, m.scale);
  const a2 = softmaxRow(q, k, s2, query, m.scale);
  const diff = new Float32Array(a1.length);
  for (let j = 0; j < a1.length; j++) diff[j] = a1[j] - lambda * a2[j];
  return { a1, a2, diff };
}

/** scale · q[s, i] · k[s, j] */
export function logitAt(q: Tensor, k: Tensor, s: number, i: number, j: number, scale: number): number {
  const d = k.dim('dim');
  const qo = q.offset({ qkHead: s, token: i });
  const ko = k.offset({ qkHead: s, token: j });
  const qs = q.stride('dim');
  const ks = k.stride('dim');
  let acc = 0;
  for (let c = 0; c < d; c++) acc += q.data[qo + c * qs] * k.data[ko + c * ks];
  return acc * scale;
}

/**
 * λ for each query row: DIFF V1's one value per layer repeated, DIFF V2's values per token (and head) as given.
 * `n` is T for one head, heads·T for a layer's heads (head-major).
 */
export function lambdaRows(lambda: number | Float32Array, n: number): Float32Array {
  if (typeof lambda === 'number') return new Float32Array(n).fill(lambda);
  if (lambda.length !== n) throw new Error(`λ has ${lambda.length} values, expected ${n} (one per query row)`);
  return lambda;
}

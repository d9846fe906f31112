/**
 * The probe: a tiny single-head attention graph that proves the ONNX Runtime chain works in the webview.
 * Its weights come from a seeded generator, so the build can write the ONNX file and the webview (or a test)
 * can recompute the exact same attention in plain JavaScript and compare.
 *
 *   x [1, T, D] → q = x·Wq, k = x·Wk → probs = softmax(q·kᵀ / √D + causal mask) [1, T, T]
 */
export const PROBE_DIM = 8;
export const PROBE_INPUT = 'x';
export const PROBE_OUTPUT = 'probs';
export const PROBE_FILE = 'probe.onnx';

/** mulberry32: small, fast, and identical on every JS engine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussianMatrix(rand: () => number, n: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    // Box–Muller; 1 − u keeps log away from 0.
    const u = 1 - rand();
    const v = rand();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

export interface ProbeWeights {
  wq: Float32Array; // [D, D]
  wk: Float32Array; // [D, D]
}

export function probeWeights(): ProbeWeights {
  const rand = seededRandom(20251127);
  return {
    wq: gaussianMatrix(rand, PROBE_DIM * PROBE_DIM, 0.6),
    wk: gaussianMatrix(rand, PROBE_DIM * PROBE_DIM, 0.6),
  };
}

/** Deterministic probe input of T tokens: x [1, T, D]. */
export function probeInput(tokens: number): Float32Array {
  const rand = seededRandom(7 + tokens);
  return gaussianMatrix(rand, tokens * PROBE_DIM, 1);
}

function matmul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * m + j];
      out[i * m + j] = s;
    }
  }
  return out;
}

/** JavaScript reference for the probe graph, in float64: probs [T, T], row-stochastic, causal. */
export function probeReference(x: Float32Array, tokens: number, w: ProbeWeights = probeWeights()): Float32Array {
  const D = PROBE_DIM;
  const q = matmul(x, w.wq, tokens, D, D);
  const k = matmul(x, w.wk, tokens, D, D);
  const out = new Float32Array(tokens * tokens);
  const scale = 1 / Math.sqrt(D);
  const row = new Float64Array(tokens);
  for (let i = 0; i < tokens; i++) {
    let max = -Infinity;
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let p = 0; p < D; p++) s += q[i * D + p] * k[j * D + p];
      row[j] = s * scale;
      if (row[j] > max) max = row[j];
    }
    let sum = 0;
    for (let j = 0; j <= i; j++) sum += (row[j] = Math.exp(row[j] - max));
    for (let j = 0; j <= i; j++) out[i * tokens + j] = row[j] / sum;
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = d; // NaN propagates as the max
  }
  return m;
}

/**
 * Statistics of every head of a layer on the CPU, fused for speed: each row's logits are computed once per
 * sub-head, giving the row's log-sum-exp (kept for columns, maps and rollout) and every head's per-row figures in
 * one pass. Same figures as the headStats kernel and its CPU twin (a unit test compares them).
 */
import { lambdaRows, logitRow, type Tensor } from '../../src/core/attention';
import { ROW_STATS, reduceHeadStats, rowFigures, type HeadStats } from './kernels/headStats.cpu';

interface StatsState {
  T: number;
  H: number;
  lse: Float32Array;
  rows: Float32Array[];
  x: Float64Array[];
  p: Float64Array[];
}

function start(k: Tensor, pairs: [number, number][]): StatsState {
  const T = k.dim('token');
  const H = k.dim('qkHead');
  return {
    T,
    H,
    lse: new Float32Array(H * T),
    rows: pairs.map(() => new Float32Array(T * ROW_STATS)),
    x: Array.from({ length: H }, () => new Float64Array(T)),
    p: Array.from({ length: H }, () => new Float64Array(T)),
  };
}

/** Query rows [i0, i1) of the fused pass. */
/** `lam`: λ per head and query row [heads·T] (ignored for softmax heads). */
function statsRows(q: Tensor, k: Tensor, scale: number, pairs: [number, number][], lam: Float32Array, st: StatsState, i0: number, i1: number): void {
  const { T, H, lse, rows, x, p } = st;
  for (let i = i0; i < i1; i++) {
    for (let s = 0; s < H; s++) {
      const xs = x[s];
      const ps = p[s];
      logitRow(q, k, s, i, scale, xs);
      let m = -Infinity;
      for (let j = 0; j <= i; j++) if (xs[j] > m) m = xs[j];
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += ps[j] = Math.exp(xs[j] - m);
      lse[s * T + i] = m + Math.log(sum);
      const inv = 1 / sum;
      for (let j = 0; j <= i; j++) ps[j] *= inv;
    }
    pairs.forEach(([s1, s2], h) => rows[h].set(rowFigures(p[s1], s2 >= 0 ? p[s2] : undefined, lam[h * T + i], i), i * ROW_STATS));
  }
}

const finish = (st: StatsState, pairs: [number, number][], lam: Float32Array) => ({
  stats: st.rows.map((r, h) => reduceHeadStats(r, st.T, pairs[h][1] >= 0, lam.subarray(h * st.T, (h + 1) * st.T))),
  lse: st.lse,
});

export function layerStatsCpu(
  q: Tensor,
  k: Tensor,
  scale: number,
  pairs: [number, number][],
  lambda: number | Float32Array,
): { stats: HeadStats[]; lse: Float32Array } {
  const st = start(k, pairs);
  const lam = lambdaRows(lambda, pairs.length * st.T);
  statsRows(q, k, scale, pairs, lam, st, 0, st.T);
  return finish(st, pairs, lam);
}

/**
 * The same pass in blocks of about `blockEntries` attention entries per sub-head, awaiting `pause` between blocks,
 * so that requests arriving meanwhile (a hover's rows) are answered without waiting for the whole layer.
 */
export async function layerStatsCpuInBlocks(
  q: Tensor,
  k: Tensor,
  scale: number,
  pairs: [number, number][],
  lambda: number | Float32Array,
  blockEntries: number,
  pause: () => Promise<void>,
): Promise<{ stats: HeadStats[]; lse: Float32Array }> {
  const st = start(k, pairs);
  const lam = lambdaRows(lambda, pairs.length * st.T);
  let i = 0;
  while (i < st.T) {
    // Row i has i + 1 entries: take rows until the block holds about blockEntries of them.
    let end = i;
    let entries = 0;
    while (end < st.T && (entries === 0 || entries + end + 1 <= blockEntries)) entries += ++end;
    statsRows(q, k, scale, pairs, lam, st, i, end);
    i = end;
    if (i < st.T) await pause();
  }
  return finish(st, pairs, lam);
}

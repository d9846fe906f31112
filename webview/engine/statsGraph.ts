/**
 * Statistics of every head of a layer on wasm, computed by ONNX Runtime rather than in JavaScript: the stats graph
 * (src/core/onnx/statsModel.ts, shipped as dist/stats-*.onnx) runs on blocks of query rows, and its MatMul, Softmax and
 * reductions are ORT's SIMD kernels. The same figures in JavaScript (layerStats.ts, the CPU twin a test compares
 * with) took 3.9 forwards at 2,048 tokens; this takes 1.4 on a quiet core (BENCHMARKS.md).
 */
import type * as Ort from 'onnxruntime-web';
import { lambdaRows, type Tensor } from '../../src/core/attention';
import { ROW_STATS, reduceHeadStats, type HeadStats } from './kernels/headStats.cpu';
import type { OrtModule } from './engine';

/** Entries of one [sub-heads × rows × keys] tensor per block: the graph holds a few of these at once. */
export const STATS_BLOCK_ENTRIES = 2 ** 19;

/** Copies rows [t0, t1) of every sub-head of Q or K (layout with "qkHead", "token", "dim") into [S, t1 − t0, d]. */
function rowsOf(x: Tensor, t0: number, t1: number): Float32Array {
  const S = x.dim('qkHead');
  const d = x.dim('dim');
  const n = t1 - t0;
  const out = new Float32Array(S * n * d);
  const [hs, ts, ds] = [x.stride('qkHead'), x.stride('token'), x.stride('dim')];
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < n; t++) {
      const src = s * hs + (t0 + t) * ts;
      const dst = (s * n + t) * d;
      if (ds === 1) out.set(x.data.subarray(src, src + d), dst);
      else for (let c = 0; c < d; c++) out[dst + c] = x.data[src + c * ds];
    }
  }
  return out;
}

/** One layer's statistics (and its sub-heads' row log-sum-exps [S·T]) through the stats graph, in blocks of rows. */
export async function layerStatsOrt(
  ort: OrtModule,
  session: Pick<Ort.InferenceSession, 'run'>,
  q: Tensor,
  k: Tensor,
  scale: number,
  pairs: [number, number][],
  lambda: number | Float32Array,
  pause: () => Promise<void>,
): Promise<{ stats: HeadStats[]; lse: Float32Array }> {
  const T = k.dim('token');
  const S = k.dim('qkHead');
  const d = k.dim('dim');
  const H = pairs.length;
  const diff = pairs.some(([, s2]) => s2 >= 0);
  const lam = lambdaRows(lambda, H * T);
  const rows = pairs.map(() => new Float32Array(T * ROW_STATS));
  const lse = new Float32Array(S * T);
  let i0 = 0;
  while (i0 < T) {
    // Rows i0 .. i0+n−1 against keys 0 .. i0+n−1: at most STATS_BLOCK_ENTRIES entries per tensor, and at most half
    // as many rows as come before the block (128 at first), so that little of the block is above the diagonal.
    let n = 1;
    while (i0 + n < T && n < Math.max(128, i0 >> 1) && S * (n + 1) * (i0 + n + 1) <= STATS_BLOCK_ENTRIES) n++;
    const Tb = i0 + n;
    const feeds: Record<string, Ort.Tensor> = {
      q: new ort.Tensor('float32', rowsOf(q, i0, Tb), [S, n, d]),
      k: new ort.Tensor('float32', rowsOf(k, 0, Tb), [S, Tb, d]),
      scale: new ort.Tensor('float32', Float32Array.of(scale), []),
      i0: new ort.Tensor('int64', BigInt64Array.of(BigInt(i0)), []),
      idx1: new ort.Tensor('int64', BigInt64Array.from(pairs, ([s1]) => BigInt(s1)), [H]),
    };
    if (diff) {
      feeds.idx2 = new ort.Tensor('int64', BigInt64Array.from(pairs, ([s1, s2]) => BigInt(s2 >= 0 ? s2 : s1)), [H]);
      const l = new Float32Array(H * n);
      for (let h = 0; h < H; h++) l.set(lam.subarray(h * T + i0, h * T + Tb), h * n);
      feeds.lam = new ort.Tensor('float32', l, [H, n, 1]);
    }
    const out = await session.run(feeds);
    try {
      const fig = (await out.figures.getData()) as Float32Array;
      const ls = (await out.lse.getData()) as Float32Array;
      for (let s = 0; s < S; s++) lse.set(ls.subarray(s * n, (s + 1) * n), s * T + i0);
      for (let h = 0; h < H; h++) {
        for (let r = 0; r < n; r++) {
          const o = (i0 + r) * ROW_STATS;
          for (let f = 0; f < ROW_STATS; f++) rows[h][o + f] = fig[(f * H + h) * n + r];
          // The masked keys i0 + r + 1 .. Tb − 1 hold a = 0, which the graph counted as small.
          rows[h][o + 3] -= Tb - (i0 + r) - 1;
          if (pairs[h][1] < 0) rows[h][o + 1] = 0;
        }
      }
    } finally {
      for (const t of Object.values(out)) t.dispose();
    }
    i0 = Tb;
    if (i0 < T) await pause();
  }
  return { stats: rows.map((r, h) => reduceHeadStats(r, T, pairs[h][1] >= 0, lam.subarray(h * T, (h + 1) * T))), lse };
}

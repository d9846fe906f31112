/**
 * An analysis read from a graph's own softmax outputs [batch, qkHead, token, key] instead of its Q/K: for graphs the
 * extension rewrote whose Q/K do not reproduce their attention (a bias added to the logits that the rewriter cannot
 * see, a scale computed at run time). Holding full maps costs layers × heads × T² floats, so inputs are limited
 * (probsTokenLimit); the what-if views need the logits and are refused. Everything runs on the CPU.
 */
import { Strided, Tensor, lambdaRows } from '../../src/core/attention';
import { ROW_STATS, reduceHeadStats, rowFigures, type HeadStats } from './kernels/headStats.cpu';
import { Analysis, mapInBlocks, perLayer, yieldToEvents } from './analysis';
import { poolMapRows } from './kernels/attentionMap.cpu';
import { rolloutStepFromMeans } from './kernels/rollout.cpu';

export class ProbsAnalysis extends Analysis {
  private maps(layer: number): Promise<Tensor> {
    const spec = this.m.outputs.probs!;
    return this.cpu(perLayer(spec.name, layer), spec.layout);
  }

  override checkShapes(): void {
    const spec = this.m.outputs.probs;
    if (!spec) throw new Error('the manifest names no softmax outputs (outputs.probs) to read attention from');
    for (let l = 0; l < this.m.layers; l++) {
      const name = perLayer(spec.name, l);
      const s = new Strided(this.out(name).dims, spec.layout);
      if (s.dim('qkHead') !== this.m.qkHeads || s.dim('token') !== this.tokens || s.dim('key') !== this.tokens) {
        throw new Error(`the model does not match its manifest: output "${name}" has dims ${s.dims.join('×')}, the manifest says ${this.m.qkHeads} heads over ${this.tokens} × ${this.tokens} tokens`);
      }
    }
  }

  /** P[s, i, ·] as a fresh array. */
  private row(P: Tensor, s: number, i: number): Float32Array {
    const T = this.tokens;
    const o = P.offset({ qkHead: s, token: i });
    const st = P.stride('key');
    if (st === 1) return P.data.slice(o, o + T);
    return Float32Array.from({ length: T }, (_, j) => P.data[o + j * st]);
  }

  protected override async subRows(layer: number, query: number): Promise<Float32Array> {
    const P = await this.maps(layer);
    const T = this.tokens;
    const out = new Float32Array(this.m.qkHeads * T);
    for (let s = 0; s < this.m.qkHeads; s++) out.set(this.row(P, s, query), s * T);
    return out;
  }

  protected override async subColumns(layer: number, key: number): Promise<Float32Array> {
    const P = await this.maps(layer);
    const T = this.tokens;
    const out = new Float32Array(this.m.qkHeads * T);
    for (let s = 0; s < this.m.qkHeads; s++) for (let i = 0; i < T; i++) out[s * T + i] = P.data[P.offset({ qkHead: s, token: i, key })];
    return out;
  }

  /** One head's weights a(i, ·) = P1 − λ_i·P2 (or P) for query i. */
  private async headRows(layer: number, head: number): Promise<(i: number) => Float32Array> {
    const P = await this.maps(layer);
    const [s1, s2] = this.pair(head);
    const lam = lambdaRows(await this.lambdaHead(layer, head), this.tokens);
    return (i) => {
      const a = this.row(P, s1, i);
      if (s2 >= 0) {
        const b = this.row(P, s2, i);
        for (let j = 0; j < a.length; j++) a[j] -= lam[i] * b[j];
      }
      return a;
    };
  }

  override async map(layer: number, head: number, maxCells = 512): Promise<{ cells: number; data: Float32Array }> {
    return this.use(async () => {
      const T = this.tokens;
      const P = Math.min(T, maxCells);
      const rowOf = await this.headRows(layer, head);
      return { cells: P, data: await mapInBlocks(T, P, (rows, out, queries) => poolMapRows(T, P, rows, rowOf, out, queries)) };
    });
  }

  override async stats(layer: number): Promise<HeadStats[]> {
    return this.use(async () => {
      const T = this.tokens;
      const P = await this.maps(layer);
      const out: HeadStats[] = [];
      for (let h = 0; h < this.m.heads; h++) {
        const [s1, s2] = this.pair(h);
        const lam = lambdaRows(await this.lambdaHead(layer, h), T);
        const rows = new Float32Array(T * ROW_STATS);
        for (let i = 0; i < T; i++) rows.set(rowFigures(this.row(P, s1, i), s2 >= 0 ? this.row(P, s2, i) : undefined, lam[i], i), i * ROW_STATS);
        out.push(reduceHeadStats(rows, T, s2 >= 0, lam));
        await yieldToEvents();
      }
      return out;
    });
  }

  override async rollout(query: number, mode: 'abs' | 'positive'): Promise<Float32Array> {
    return this.use(async () => {
      const T = this.tokens;
      if (!Number.isInteger(query) || query < 0 || query >= T) throw new Error(`query ${query} is outside 0..${T - 1}`);
      let r: Float32Array = new Float32Array(T);
      r[query] = 1;
      for (let l = this.m.layers - 1; l >= 0; l--) {
        const heads = await Promise.all(Array.from({ length: this.m.heads }, (_, h) => this.headRows(l, h)));
        r = rolloutStepFromMeans(T, query, r, (t) => {
          const mean = new Float64Array(t + 1);
          for (const rowOf of heads) {
            const a = rowOf(t);
            for (let j = 0; j <= t; j++) mean[j] += (mode === 'abs' ? Math.abs(a[j]) : Math.max(0, a[j])) / heads.length;
          }
          return mean;
        });
      }
      return r;
    });
  }

  override async whatIf(): Promise<Float32Array> {
    throw new Error(`the what-if views need the attention logits, and ${this.m.name}'s attention is read from its softmax outputs (its Q and K alone do not reproduce it)`);
  }

  override async lse(): Promise<Float32Array> {
    throw new Error('row log-sum-exps need Q and K, which this analysis does not read');
  }
}

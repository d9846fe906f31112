/** WGSL kernel: per-row statistics of one head, one thread per row; reduced in JS (CPU twin: headStats.cpu.ts). */
import { lambdaRows } from '../../../src/core/attention';
import { PAIR_WGSL, pairUniform, runQKKernel } from './gpuRun';
import { ROW_STATS, SMALL, reduceHeadStats, validateStats, type HeadStats, type StatsShape } from './headStats.cpu';

export const headStatsWgsl = /* wgsl */ `
${PAIR_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  let T = qk.tokens;
  if (i >= T) { return; }
  var e1 = 0.0; var e2 = 0.0; var neg = 0.0; var small = 0.0; var first = 0.0; var sum = 0.0;
  for (var j = 0u; j <= i; j = j + 1u) {
    let p1 = exp(logit(p.s1, i, j) - lse[p.s1 * T + i]);
    var a = p1;
    if (p1 > 0.0) { e1 = e1 - p1 * log(p1); }
    if (p.s2 >= 0) {
      let s2 = u32(p.s2);
      let p2 = exp(logit(s2, i, j) - lse[s2 * T + i]);
      if (p2 > 0.0) { e2 = e2 - p2 * log(p2); }
      a = p1 - lam[i] * p2;
    }
    if (a < 0.0) { neg = neg - a; }
    if (abs(a) < ${SMALL}) { small = small + 1.0; }
    if (j == 0u) { first = a; }
    sum = sum + a;
  }
  let o = i * ${ROW_STATS}u;
  out[o] = e1; out[o + 1u] = e2; out[o + 2u] = neg; out[o + 3u] = small; out[o + 4u] = first; out[o + 5u] = sum;
}
`;

export async function rowStatsGpu(device: GPUDevice, x: StatsShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T } = validateStats(x);
  return runQKKernel(device, x, buffers, {
    label: 'headStats',
    body: headStatsWgsl,
    params: { type: 'Pair', data: pairUniform(x.s1, x.s2, 0) },
    extraInputs: [{ name: 'lse', data: x.lse }, { name: 'lam', data: lambdaRows(x.lambda, T) }],
    output: { name: 'out', floats: T * ROW_STATS },
    workgroups: [Math.ceil(T / 64)],
  });
}

export async function headStatsGpu(device: GPUDevice, x: StatsShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<HeadStats> {
  const { T } = validateStats(x);
  return reduceHeadStats(await rowStatsGpu(device, x, buffers), T, x.s2 >= 0, lambdaRows(x.lambda, T));
}

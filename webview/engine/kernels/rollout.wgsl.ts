/**
 * WGSL kernels for one rollout step (CPU twin: rollout.cpu.ts): pass 1 computes each row's normaliser Z_t (one
 * thread per row), pass 2 accumulates r'_j (one thread per key). Heads are passed as (s1, s2) pairs in a storage
 * buffer, so one pipeline serves softmax and DIFF layers. valueWeightedGpu is the elementwise value-weighted row.
 */
import { lambdaRows } from '../../../src/core/attention';
import { runKernel, runQKKernel } from './gpuRun';
import { validateRollout, type RolloutShape } from './rollout.cpu';

const COMMON = /* wgsl */ `
struct RP { heads: u32, lambda: f32, useAbs: u32, query: u32 };
fn meanWeight(t: u32, j: u32) -> f32 {
  let T = qk.tokens;
  var acc = 0.0;
  for (var h = 0u; h < p.heads; h = h + 1u) {
    let s1 = u32(pairs[2u * h]);
    var a = exp(logit(s1, t, j) - lse[s1 * T + t]);
    if (pairs[2u * h + 1u] >= 0.0) {
      let s2 = u32(pairs[2u * h + 1u]);
      a = a - lam[h * T + t] * exp(logit(s2, t, j) - lse[s2 * T + t]);
    }
    if (p.useAbs == 1u) { acc = acc + abs(a); } else { acc = acc + max(0.0, a); }
  }
  return acc / f32(p.heads);
}
`;

export const rolloutNormWgsl = /* wgsl */ `${COMMON}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let t = g.x;
  if (t >= qk.tokens) { return; }
  var acc = 0.0;
  if (t <= p.query) { for (var j = 0u; j <= t; j = j + 1u) { acc = acc + meanWeight(t, j); } }
  z[t] = acc;
}
`;

export const rolloutStepWgsl = /* wgsl */ `${COMMON}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let j = g.x;
  if (j >= qk.tokens) { return; }
  var acc = 0.0;
  for (var t = j; t <= p.query; t = t + 1u) {
    if (r[t] != 0.0 && z[t] > 0.0) { acc = acc + r[t] * 0.5 * meanWeight(t, j) / z[t]; }
  }
  if (j <= p.query) { acc = acc + 0.5 * r[j]; }
  out[j] = acc;
}
`;

export async function rolloutStepGpu(device: GPUDevice, x: RolloutShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T } = validateRollout(x);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = x.pairs.length;
  new Float32Array(params, 4, 1)[0] = 0; // λ comes per head and row in `lam`
  new Uint32Array(params, 8, 2).set([x.mode === 'abs' ? 1 : 0, x.query]);
  const shared = { params: { type: 'RP', data: params }, workgroups: [Math.ceil(T / 64)] as [number] };
  const inputs = [{ name: 'lse', data: x.lse }, { name: 'pairs', data: Float32Array.from(x.pairs.flat()) }, { name: 'lam', data: lambdaRows(x.lambda, x.pairs.length * T) }];
  const z = await runQKKernel(device, x, buffers, { ...shared, label: 'rolloutNorm', body: rolloutNormWgsl, extraInputs: inputs, output: { name: 'z', floats: T } });
  return runQKKernel(device, x, buffers, {
    ...shared,
    label: 'rolloutStep',
    body: rolloutStepWgsl,
    extraInputs: [...inputs, { name: 'z', data: z }, { name: 'r', data: x.r }],
    output: { name: 'out', floats: T },
  });
}

export const valueWeightedWgsl = /* wgsl */ `
struct VP { tokens: u32, rowScale: f32, p0: u32, p1: u32 };
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let j = g.x;
  if (j >= p.tokens) { return; }
  out[j] = abs(row[j]) * vnorm[j] * p.rowScale;
}
`;

export async function valueWeightedGpu(device: GPUDevice, row: Float32Array, valueNorm: Float32Array, rowScale = 1): Promise<Float32Array> {
  if (row.length !== valueNorm.length) throw new Error(`row has ${row.length} values, value norms ${valueNorm.length}`);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = row.length;
  new Float32Array(params, 4, 1)[0] = rowScale;
  return runKernel(device, {
    label: 'valueWeighted',
    body: valueWeightedWgsl,
    uniforms: [{ name: 'p', type: 'VP', data: params }],
    inputs: [{ name: 'row', data: row }, { name: 'vnorm', data: valueNorm }],
    output: { name: 'out', floats: row.length },
    workgroups: [Math.ceil(row.length / 64)],
  });
}

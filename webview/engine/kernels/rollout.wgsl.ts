/**
 * WGSL kernels for one rollout step (CPU twin: rollout.cpu.ts): pass 1 computes each row's normaliser Z_t (one
 * thread per row), pass 2 accumulates r'_j (one thread per key). Heads are passed as (s1, s2) pairs in a storage
 * buffer, so one pipeline serves softmax and DIFF layers. valueWeightedGpu is the elementwise value-weighted row.
 */
import { QK_WGSL, gpuInput, qkUniform, runKernel } from './gpuRun';
import { validateRollout, type RolloutShape } from './rollout.cpu';

const COMMON = /* wgsl */ `
struct RP { heads: u32, lambda: f32, useAbs: u32, query: u32 };
@group(0) @binding(0) var<uniform> qk: QK;
@group(0) @binding(1) var<uniform> rp: RP;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> pairs: array<f32>;
${QK_WGSL}
fn meanWeight(t: u32, j: u32) -> f32 {
  let T = qk.tokens;
  var acc = 0.0;
  for (var h = 0u; h < rp.heads; h = h + 1u) {
    let s1 = u32(pairs[2u * h]);
    var a = exp(logit(s1, t, j) - lse[s1 * T + t]);
    if (pairs[2u * h + 1u] >= 0.0) {
      let s2 = u32(pairs[2u * h + 1u]);
      a = a - rp.lambda * exp(logit(s2, t, j) - lse[s2 * T + t]);
    }
    if (rp.useAbs == 1u) { acc = acc + abs(a); } else { acc = acc + max(0.0, a); }
  }
  return acc / f32(rp.heads);
}
`;

export const rolloutNormWgsl = /* wgsl */ `${COMMON}
@group(0) @binding(6) var<storage, read_write> z: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let t = g.x;
  if (t >= qk.tokens) { return; }
  var acc = 0.0;
  if (t <= rp.query) { for (var j = 0u; j <= t; j = j + 1u) { acc = acc + meanWeight(t, j); } }
  z[t] = acc;
}
`;

export const rolloutStepWgsl = /* wgsl */ `${COMMON}
@group(0) @binding(6) var<storage, read> z: array<f32>;
@group(0) @binding(7) var<storage, read> r: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let j = g.x;
  if (j >= qk.tokens) { return; }
  var acc = 0.0;
  for (var t = j; t <= rp.query; t = t + 1u) {
    if (r[t] != 0.0 && z[t] > 0.0) { acc = acc + r[t] * 0.5 * meanWeight(t, j) / z[t]; }
  }
  if (j <= rp.query) { acc = acc + 0.5 * r[j]; }
  out[j] = acc;
}
`;

export async function rolloutStepGpu(device: GPUDevice, x: RolloutShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T } = validateRollout(x);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = x.pairs.length;
  new Float32Array(params, 4, 1)[0] = x.lambda;
  new Uint32Array(params, 8, 2).set([x.mode === 'abs' ? 1 : 0, x.query]);
  const pairs = Float32Array.from(x.pairs.flat());
  const uniforms = [qkUniform(x.q, x.k, x.scale), params];
  const inputs = [gpuInput(x.q, buffers?.q), gpuInput(x.k, buffers?.k), x.lse, pairs];
  const z = await runKernel(device, { label: 'rolloutNorm', code: rolloutNormWgsl, uniforms, inputs, outputFloats: T, workgroups: [Math.ceil(T / 64)] });
  return runKernel(device, { label: 'rolloutStep', code: rolloutStepWgsl, uniforms, inputs: [...inputs, z, x.r], outputFloats: T, workgroups: [Math.ceil(T / 64)] });
}

export const valueWeightedWgsl = /* wgsl */ `
struct VP { tokens: u32, rowScale: f32, p0: u32, p1: u32 };
@group(0) @binding(0) var<uniform> vp: VP;
@group(0) @binding(1) var<storage, read> row: array<f32>;
@group(0) @binding(2) var<storage, read> vnorm: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let j = g.x;
  if (j >= vp.tokens) { return; }
  out[j] = abs(row[j]) * vnorm[j] * vp.rowScale;
}
`;

export async function valueWeightedGpu(device: GPUDevice, row: Float32Array, valueNorm: Float32Array, rowScale = 1): Promise<Float32Array> {
  if (row.length !== valueNorm.length) throw new Error(`row has ${row.length} values, value norms ${valueNorm.length}`);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = row.length;
  new Float32Array(params, 4, 1)[0] = rowScale;
  return runKernel(device, { label: 'valueWeighted', code: valueWeightedWgsl, uniforms: [params], inputs: [row, valueNorm], outputFloats: row.length, workgroups: [Math.ceil(row.length / 64)] });
}

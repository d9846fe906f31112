/** WGSL kernel: log-sum-exp of every causal row of every sub-head (CPU twin: rowLse.cpu.ts). One thread per row. */
import { QK_WGSL, gpuInput, qkUniform, runKernel } from './gpuRun';
import { validateQK, type QKShape } from './rowLse.cpu';

export const rowLseWgsl = /* wgsl */ `
@group(0) @binding(0) var<uniform> qk: QK;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> lse: array<f32>;
${QK_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  let s = g.y;
  if (i >= qk.tokens) { return; }
  var m = -3.402823e38;
  for (var j = 0u; j <= i; j = j + 1u) { m = max(m, logit(s, i, j)); }
  var sum = 0.0;
  for (var j = 0u; j <= i; j = j + 1u) { sum = sum + exp(logit(s, i, j) - m); }
  lse[s * qk.tokens + i] = m + log(sum);
}
`;

export async function rowLseGpu(device: GPUDevice, x: QKShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T, H } = validateQK(x);
  return runKernel(device, {
    label: 'rowLse',
    code: rowLseWgsl,
    uniforms: [qkUniform(x.q, x.k, x.scale)],
    inputs: [gpuInput(x.q, buffers?.q), gpuInput(x.k, buffers?.k)],
    outputFloats: H * T,
    workgroups: [Math.ceil(T / 64), H],
  });
}

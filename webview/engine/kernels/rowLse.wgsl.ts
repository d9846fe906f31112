/** WGSL kernel: log-sum-exp of every causal row of every sub-head (CPU twin: rowLse.cpu.ts). One thread per row. */
import { runQKKernel } from './gpuRun';
import { validateQK, type QKShape } from './rowLse.cpu';

export const rowLseWgsl = /* wgsl */ `
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
  return runQKKernel(device, x, buffers, { label: 'rowLse', body: rowLseWgsl, output: { name: 'lse', floats: H * T }, workgroups: [Math.ceil(T / 64), H] });
}

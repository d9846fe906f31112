/** WGSL kernel: one key's column in every sub-head, from cached row log-sum-exps (CPU twin: attentionColumns.cpu.ts). */
import { validateColumns, type ColumnsShape } from './attentionColumns.cpu';
import { QK_WGSL, gpuInput, qkUniform, runKernel } from './gpuRun';

export const attentionColumnsWgsl = /* wgsl */ `
struct Col { key: u32, p0: u32, p1: u32, p2: u32 };
@group(0) @binding(0) var<uniform> qk: QK;
@group(0) @binding(1) var<uniform> col: Col;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${QK_WGSL}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  let s = g.y;
  if (i >= qk.tokens) { return; }
  let o = s * qk.tokens + i;
  if (i < col.key) { out[o] = 0.0; return; }
  out[o] = exp(logit(s, i, col.key) - lse[o]);
}
`;

export async function attentionColumnsGpu(device: GPUDevice, x: ColumnsShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T, H } = validateColumns(x);
  return runKernel(device, {
    label: 'attentionColumns',
    code: attentionColumnsWgsl,
    uniforms: [qkUniform(x.q, x.k, x.scale), new Uint32Array([x.key, 0, 0, 0]).buffer],
    inputs: [gpuInput(x.q, buffers?.q), gpuInput(x.k, buffers?.k), x.lse],
    outputFloats: H * T,
    workgroups: [Math.ceil(T / 64), H],
  });
}

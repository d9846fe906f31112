/** WGSL kernel: one key's column in every sub-head, from cached row log-sum-exps (CPU twin: attentionColumns.cpu.ts). */
import { validateColumns, type ColumnsShape } from './attentionColumns.cpu';
import { runQKKernel } from './gpuRun';

export const attentionColumnsWgsl = /* wgsl */ `
struct Col { key: u32, p0: u32, p1: u32, p2: u32 };
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let i = g.x;
  let s = g.y;
  if (i >= qk.tokens) { return; }
  let o = s * qk.tokens + i;
  if (i < p.key) { out[o] = 0.0; return; }
  out[o] = exp(logit(s, i, p.key) - lse[o]);
}
`;

export async function attentionColumnsGpu(device: GPUDevice, x: ColumnsShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T, H } = validateColumns(x);
  return runQKKernel(device, x, buffers, {
    label: 'attentionColumns',
    body: attentionColumnsWgsl,
    params: { type: 'Col', data: new Uint32Array([x.key, 0, 0, 0]).buffer },
    extraInputs: [{ name: 'lse', data: x.lse }],
    output: { name: 'out', floats: H * T },
    workgroups: [Math.ceil(T / 64), H],
  });
}

/**
 * WGSL kernel: for one query token, the causal softmax row of every Q/K (sub-)head of one layer (CPU twin:
 * attentionRows.cpu.ts). One workgroup of 256 threads per sub-head; q and k are read through strides given as
 * uniforms, so the kernel binds ORT's output buffers as they are (no copy, no re-layout) and one pipeline serves
 * every length and layout.
 */
import { validateAttentionRowsInput, type AttentionRowsInput, type AttentionRowsShape } from './attentionRows.cpu';
import { reduceWgsl, runQKKernel } from './gpuRun';

const WG = 256;

export const attentionRowsWgsl = /* wgsl */ `
struct RowP { query: u32, p0: u32, p1: u32, p2: u32 };
${reduceWgsl(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tid = lid.x;
  let s = wid.x;
  let T = qk.tokens;
  let i = p.query;
  let out = s * T;
  var localMax = -3.402823e38;
  for (var j = tid; j < T; j = j + ${WG}u) {
    if (j <= i) {
      let v = logit(s, i, j);
      rows[out + j] = v;
      localMax = max(localMax, v);
    } else {
      rows[out + j] = 0.0;
    }
  }
  let m = reduce(tid, localMax, true);
  var localSum = 0.0;
  for (var j = tid; j <= i; j = j + ${WG}u) {
    let e = exp(rows[out + j] - m);
    rows[out + j] = e;
    localSum = localSum + e;
  }
  let total = reduce(tid, localSum, false);
  for (var j = tid; j <= i; j = j + ${WG}u) { rows[out + j] = rows[out + j] / total; }
}
`;

/** q and k as GPU buffers (ORT's outputs). */
export interface GpuQK {
  q: GPUBuffer;
  k: GPUBuffer;
}

/** Same signature as attentionRowsCpu (or shapes plus ORT's buffers): returns rows [qkHeads, T]. */
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsInput): Promise<Float32Array>;
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsShape, buffers: GpuQK): Promise<Float32Array>;
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsShape | AttentionRowsInput, buffers?: GpuQK): Promise<Float32Array> {
  validateAttentionRowsInput(x);
  const T = x.k.dim('token');
  const H = x.k.dim('qkHead');
  return runQKKernel(device, x, buffers, {
    label: 'attentionRows',
    body: attentionRowsWgsl,
    params: { type: 'RowP', data: new Uint32Array([x.query, 0, 0, 0]).buffer },
    output: { name: 'rows', floats: H * T },
    workgroups: [H],
  });
}

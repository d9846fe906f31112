/**
 * WGSL kernel: for one query token, the causal softmax row of every Q/K (sub-)head of one layer (CPU twin:
 * attentionRows.cpu.ts). One workgroup of 256 threads per sub-head; q and k are read through strides given as
 * uniforms, so the kernel binds ORT's output buffers as they are (no copy, no re-layout) and one pipeline serves
 * every length and layout.
 */
import type { Tensor } from '../../../src/core/attention';
import { createCounted, destroyCounted } from './gpuRun';
import { validateAttentionRowsInput, type AttentionRowsInput, type AttentionRowsShape } from './attentionRows.cpu';

const WG = 256;

export const attentionRowsWgsl = /* wgsl */ `
struct Params {
  tokens: u32, headDim: u32, query: u32, scale: f32,
  qHead: u32, qToken: u32, qDim: u32, qBase: u32,
  kHead: u32, kToken: u32, kDim: u32, kBase: u32,
};
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> rows: array<f32>;

var<workgroup> partial: array<f32, ${WG}>;

fn reduce(tid: u32, v: f32, isMax: bool) -> f32 {
  partial[tid] = v;
  workgroupBarrier();
  var stride = ${WG}u / 2u;
  loop {
    if (stride == 0u) { break; }
    if (tid < stride) {
      if (isMax) { partial[tid] = max(partial[tid], partial[tid + stride]); }
      else { partial[tid] = partial[tid] + partial[tid + stride]; }
    }
    workgroupBarrier();
    stride = stride / 2u;
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let tid = lid.x;
  let s = wid.x;
  let T = p.tokens;
  let i = p.query;
  let out = s * T;
  let qo = p.qBase + s * p.qHead + i * p.qToken;
  var localMax = -3.402823e38;
  for (var j = tid; j < T; j = j + ${WG}u) {
    if (j <= i) {
      let ko = p.kBase + s * p.kHead + j * p.kToken;
      var acc = 0.0;
      for (var c = 0u; c < p.headDim; c = c + 1u) { acc = acc + q[qo + c * p.qDim] * k[ko + c * p.kDim]; }
      let v = acc * p.scale;
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

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();
function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let pl = pipelines.get(device);
  if (!pl) {
    pl = device.createComputePipeline({
      label: 'attentionRows',
      layout: 'auto',
      compute: { module: device.createShaderModule({ label: 'attentionRows', code: attentionRowsWgsl }), entryPoint: 'main' },
    });
    pipelines.set(device, pl);
  }
  return pl;
}

/** q and k as GPU buffers (ORT's outputs, or uploaded), with the Tensor that describes their layout. */
export interface GpuQK {
  qBuffer: GPUBuffer;
  kBuffer: GPUBuffer;
}

/**
 * Same signature as attentionRowsCpu plus the buffers: returns rows [qkHeads, T]. When `buffers` is omitted, q and
 * k are uploaded from the tensors' data.
 */
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsInput): Promise<Float32Array>;
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsShape, buffers: GpuQK): Promise<Float32Array>;
export async function attentionRowsGpu(device: GPUDevice, x: AttentionRowsShape | AttentionRowsInput, buffers?: GpuQK): Promise<Float32Array> {
  validateAttentionRowsInput(x);
  const T = x.k.dim('token');
  const H = x.k.dim('qkHead');
  const U = GPUBufferUsage;
  const made: GPUBuffer[] = [];
  const make = (size: number, usage: number) => {
    const b = createCounted(device, size, usage);
    made.push(b);
    return b;
  };
  const upload = (t: Tensor) => {
    const b = make(t.data.byteLength, U.STORAGE | U.COPY_DST);
    device.queue.writeBuffer(b, 0, t.data as Float32Array<ArrayBuffer>);
    return b;
  };
  try {
    const qb = buffers?.qBuffer ?? upload((x as AttentionRowsInput).q);
    const kb = buffers?.kBuffer ?? upload((x as AttentionRowsInput).k);
    const params = new ArrayBuffer(48);
    const u32 = new Uint32Array(params);
    u32.set([T, x.k.dim('dim'), x.query, 0, x.q.stride('qkHead'), x.q.stride('token'), x.q.stride('dim'), 0, x.k.stride('qkHead'), x.k.stride('token'), x.k.stride('dim'), 0]);
    new Float32Array(params, 12, 1)[0] = x.scale;
    const ub = make(48, U.UNIFORM | U.COPY_DST);
    device.queue.writeBuffer(ub, 0, params);
    const rows = make(H * T * 4, U.STORAGE | U.COPY_SRC);
    const read = make(H * T * 4, U.MAP_READ | U.COPY_DST);
    const pipeline = pipelineFor(device);
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [ub, qb, kb, rows].map((b, binding) => ({ binding, resource: { buffer: b } })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(H);
    pass.end();
    enc.copyBufferToBuffer(rows, 0, read, 0, H * T * 4);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(read.getMappedRange(0, H * T * 4).slice(0));
    read.unmap();
    return out;
  } finally {
    made.forEach(destroyCounted);
  }
}

/**
 * WGSL kernel: one query row of causal softmax attention for one head (CPU twin: attentionRow.cpu.ts).
 * One workgroup of 256 threads: each thread computes logits for keys j ≡ tid (mod 256), then the row max and
 * the sum of exp(x − max) are reduced through workgroup memory. Shapes are uniforms, so one compiled
 * pipeline serves every length.
 */
import { validateAttentionRowInput, type AttentionRowInput } from './attentionRow.cpu';

export const ATTENTION_ROW_WORKGROUP = 256;

export const attentionRowWgsl = /* wgsl */ `
struct Params { tokens: u32, headDim: u32, query: u32, scale: f32 };
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> row: array<f32>;

const WG: u32 = ${ATTENTION_ROW_WORKGROUP}u;
var<workgroup> partial: array<f32, ${ATTENTION_ROW_WORKGROUP}>;

fn reduceMax(tid: u32, v: f32) -> f32 {
  partial[tid] = v;
  workgroupBarrier();
  var stride = WG / 2u;
  loop {
    if (stride == 0u) { break; }
    if (tid < stride) { partial[tid] = max(partial[tid], partial[tid + stride]); }
    workgroupBarrier();
    stride = stride / 2u;
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

fn reduceSum(tid: u32, v: f32) -> f32 {
  partial[tid] = v;
  workgroupBarrier();
  var stride = WG / 2u;
  loop {
    if (stride == 0u) { break; }
    if (tid < stride) { partial[tid] = partial[tid] + partial[tid + stride]; }
    workgroupBarrier();
    stride = stride / 2u;
  }
  let r = partial[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(${ATTENTION_ROW_WORKGROUP})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let T = params.tokens;
  let d = params.headDim;
  let i = params.query;
  var localMax = -3.402823e38;
  for (var j = tid; j < T; j = j + WG) {
    if (j <= i) {
      var s = 0.0;
      for (var p = 0u; p < d; p = p + 1u) { s = s + q[i * d + p] * k[j * d + p]; }
      s = s * params.scale;
      row[j] = s;
      localMax = max(localMax, s);
    } else {
      row[j] = 0.0;
    }
  }
  let m = reduceMax(tid, localMax);
  var localSum = 0.0;
  for (var j = tid; j <= i; j = j + WG) {
    let e = exp(row[j] - m);
    row[j] = e;
    localSum = localSum + e;
  }
  let total = reduceSum(tid, localSum);
  for (var j = tid; j <= i; j = j + WG) { row[j] = row[j] / total; }
}
`;

const pipelines = new WeakMap<GPUDevice, GPUComputePipeline>();

function pipelineFor(device: GPUDevice): GPUComputePipeline {
  let p = pipelines.get(device);
  if (!p) {
    p = device.createComputePipeline({
      label: 'attentionRow',
      layout: 'auto',
      compute: { module: device.createShaderModule({ label: 'attentionRow', code: attentionRowWgsl }), entryPoint: 'main' },
    });
    pipelines.set(device, p);
  }
  return p;
}

/** Same signature as attentionRowCpu, on a GPU device; uploads q and k, reads the row back. */
export async function attentionRowGpu(device: GPUDevice, x: AttentionRowInput): Promise<Float32Array> {
  validateAttentionRowInput(x);
  const { tokens: T } = x;
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 3).set([T, x.headDim, x.query]);
  new Float32Array(params, 12, 1)[0] = x.scale;
  const U = GPUBufferUsage;
  const made: GPUBuffer[] = [];
  const buffer = (size: number, usage: number) => {
    const b = device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage });
    made.push(b);
    return b;
  };
  try {
    const uParams = buffer(16, U.UNIFORM | U.COPY_DST);
    const bq = buffer(x.q.byteLength, U.STORAGE | U.COPY_DST);
    const bk = buffer(x.k.byteLength, U.STORAGE | U.COPY_DST);
    const bRow = buffer(T * 4, U.STORAGE | U.COPY_SRC);
    const bRead = buffer(T * 4, U.MAP_READ | U.COPY_DST);
    device.queue.writeBuffer(uParams, 0, params);
    device.queue.writeBuffer(bq, 0, x.q as Float32Array<ArrayBuffer>);
    device.queue.writeBuffer(bk, 0, x.k as Float32Array<ArrayBuffer>);
    const pipeline = pipelineFor(device);
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [uParams, bq, bk, bRow].map((b, binding) => ({ binding, resource: { buffer: b } })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(bRow, 0, bRead, 0, T * 4);
    device.queue.submit([enc.finish()]);
    await bRead.mapAsync(GPUMapMode.READ);
    const out = new Float32Array(bRead.getMappedRange(0, T * 4).slice(0));
    bRead.unmap();
    return out;
  } finally {
    made.forEach((b) => b.destroy());
  }
}

/**
 * The boilerplate every kernel shares: compile once per device, upload what is not already on the GPU, bind
 * uniforms + inputs + one output, dispatch, read the output back, free what was made.
 */
import type { Strided, Tensor } from '../../../src/core/attention';

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

/** Buffers our kernels have created and not yet destroyed (ORT's own buffers are not counted). Tests read it. */
export const kernelBuffers = { live: 0 };

/** Creates a buffer that is counted in kernelBuffers until `destroyCounted`. */
export function createCounted(device: GPUDevice, size: number, usage: number): GPUBuffer {
  kernelBuffers.live++;
  return device.createBuffer({ size: Math.max(16, Math.ceil(size / 16) * 16), usage });
}
export function destroyCounted(b: GPUBuffer): void {
  kernelBuffers.live--;
  b.destroy();
}

export function pipelineFor(device: GPUDevice, label: string, code: string): GPUComputePipeline {
  let m = pipelines.get(device);
  if (!m) pipelines.set(device, (m = new Map()));
  let p = m.get(label);
  if (!p) {
    p = device.createComputePipeline({ label, layout: 'auto', compute: { module: device.createShaderModule({ label, code }), entryPoint: 'main' } });
    m.set(label, p);
  }
  return p;
}

/** WGSL for the q/k part of a uniform block and a dot product through strides. */
export const QK_WGSL = /* wgsl */ `
struct QK { tokens: u32, headDim: u32, scale: f32, pad0: u32, qHead: u32, qToken: u32, qDim: u32, pad1: u32, kHead: u32, kToken: u32, kDim: u32, pad2: u32 };
fn logit(s: u32, i: u32, j: u32) -> f32 {
  let qo = s * qk.qHead + i * qk.qToken;
  let ko = s * qk.kHead + j * qk.kToken;
  var acc = 0.0;
  for (var c = 0u; c < qk.headDim; c = c + 1u) { acc = acc + q[qo + c * qk.qDim] * k[ko + c * qk.kDim]; }
  return acc * qk.scale;
}
`;

/**
 * Workgroup reductions (max or sum) over `red`, a workgroup array of `size` floats; every thread gets the result.
 * Each call ends with a barrier, so calls can follow one another.
 */
export function reduceWgsl(size: number): string {
  return /* wgsl */ `
var<workgroup> red: array<f32, ${size}>;
fn reduce(tid: u32, v: f32, isMax: bool) -> f32 {
  red[tid] = v;
  workgroupBarrier();
  var stride = ${size}u / 2u;
  loop {
    if (stride == 0u) { break; }
    if (tid < stride) {
      if (isMax) { red[tid] = max(red[tid], red[tid + stride]); } else { red[tid] = red[tid] + red[tid + stride]; }
    }
    workgroupBarrier();
    stride = stride / 2u;
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}
`;
}

/** The 48-byte QK uniform block for a pair of tensors. */
export function qkUniform(q: Strided, k: Strided, scale: number): ArrayBuffer {
  const b = new ArrayBuffer(48);
  const u = new Uint32Array(b);
  u.set([k.dim('token'), k.dim('dim'), 0, 0, q.stride('qkHead'), q.stride('token'), q.stride('dim'), 0, k.stride('qkHead'), k.stride('token'), k.stride('dim'), 0]);
  new Float32Array(b, 8, 1)[0] = scale;
  return b;
}

export type GpuInput = GPUBuffer | Float32Array;

export interface KernelRun {
  label: string;
  code: string;
  /** Uniform blocks, bound at 0, 1, … in order; then inputs; then the output. */
  uniforms: ArrayBuffer[];
  inputs: GpuInput[];
  outputFloats: number;
  workgroups: [number, number?, number?];
}

export async function runKernel(device: GPUDevice, run: KernelRun): Promise<Float32Array> {
  const U = GPUBufferUsage;
  const made: GPUBuffer[] = [];
  const make = (size: number, usage: number) => {
    const b = createCounted(device, size, usage);
    made.push(b);
    return b;
  };
  try {
    const uniforms = run.uniforms.map((u) => {
      const b = make(u.byteLength, U.UNIFORM | U.COPY_DST);
      device.queue.writeBuffer(b, 0, u);
      return b;
    });
    const inputs = run.inputs.map((x) => {
      if (!(x instanceof Float32Array)) return x;
      const b = make(x.byteLength, U.STORAGE | U.COPY_DST);
      device.queue.writeBuffer(b, 0, x as Float32Array<ArrayBuffer>);
      return b;
    });
    const bytes = run.outputFloats * 4;
    const out = make(bytes, U.STORAGE | U.COPY_SRC);
    const read = make(bytes, U.MAP_READ | U.COPY_DST);
    const pipeline = pipelineFor(device, run.label, run.code);
    const bind = device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [...uniforms, ...inputs, out].map((b, binding) => ({ binding, resource: { buffer: b } })),
    });
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(run.workgroups[0], run.workgroups[1] ?? 1, run.workgroups[2] ?? 1);
    pass.end();
    enc.copyBufferToBuffer(out, 0, read, 0, Math.ceil(bytes / 16) * 16);
    device.queue.submit([enc.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const result = new Float32Array(read.getMappedRange(0, bytes).slice(0));
    read.unmap();
    return result;
  } finally {
    made.forEach(destroyCounted);
  }
}

/** Data for a tensor input: its GPU buffer when there is one, otherwise its values. */
export function gpuInput(t: Strided | Tensor, buffer?: GPUBuffer): GpuInput {
  if (buffer) return buffer;
  if ('data' in t) return t.data;
  throw new Error('a tensor without data needs its GPU buffer');
}

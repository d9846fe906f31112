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
  /** WGSL after the bindings: structs, functions and the entry point `main`. */
  body: string;
  /** Uniform blocks as `var<uniform> name: type`, bound first, in order. */
  uniforms: { name: string; type: string; data: ArrayBuffer }[];
  /** Read-only `array<f32>` storage inputs, bound next, in order. */
  inputs: { name: string; data: GpuInput }[];
  /** The read-write `array<f32>` output, bound last and read back. */
  output: { name: string; floats: number };
  workgroups: [number, number?, number?];
}

/**
 * The binding declarations for a run, generated from the same lists that `runKernel` binds buffers from, so a
 * shader's bindings cannot drift from its dispatch.
 */
export function bindingsWgsl(run: Pick<KernelRun, 'uniforms' | 'inputs' | 'output'>): string {
  let b = 0;
  return [
    ...run.uniforms.map((u) => `@group(0) @binding(${b++}) var<uniform> ${u.name}: ${u.type};`),
    ...run.inputs.map((x) => `@group(0) @binding(${b++}) var<storage, read> ${x.name}: array<f32>;`),
    `@group(0) @binding(${b}) var<storage, read_write> ${run.output.name}: array<f32>;`,
  ].join('\n');
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
      const b = make(u.data.byteLength, U.UNIFORM | U.COPY_DST);
      device.queue.writeBuffer(b, 0, u.data);
      return b;
    });
    const inputs = run.inputs.map(({ data }) => {
      if (!(data instanceof Float32Array)) return data;
      const b = make(data.byteLength, U.STORAGE | U.COPY_DST);
      device.queue.writeBuffer(b, 0, data as Float32Array<ArrayBuffer>);
      return b;
    });
    const bytes = run.output.floats * 4;
    const out = make(bytes, U.STORAGE | U.COPY_SRC);
    const read = make(bytes, U.MAP_READ | U.COPY_DST);
    const pipeline = pipelineFor(device, run.label, `${bindingsWgsl(run)}\n${run.body}`);
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

/** WGSL of the parameter block shared by the kernels that read one head: sub-heads, λ, one kernel-specific u32. */
export const PAIR_WGSL = 'struct Pair { s1: u32, s2: i32, lambda: f32, extra: u32 };';

/** The 16-byte `Pair` block: A's (or A1's) sub-head, A2's (or -1), λ, and `extra` (cells, query, …). */
export function pairUniform(s1: number, s2: number, lambda: number, extra = 0): ArrayBuffer {
  const b = new ArrayBuffer(16);
  new Uint32Array(b, 0, 1)[0] = s1;
  new Int32Array(b, 4, 1)[0] = s2;
  new Float32Array(b, 8, 1)[0] = lambda;
  new Uint32Array(b, 12, 1)[0] = extra;
  return b;
}

export interface QKRun {
  label: string;
  /** WGSL using `qk`, `q`, `k`, `logit(s, i, j)`, the uniform `p` (when `params` is given) and the extra inputs. */
  body: string;
  /** The second uniform block, bound as `p`. */
  params?: { type: string; data: ArrayBuffer };
  extraInputs?: { name: string; data: GpuInput }[];
  output: { name: string; floats: number };
  workgroups: [number, number?, number?];
}

/** Runs a kernel over one layer's Q/K (ORT's GPU buffers when given, uploaded otherwise). */
export function runQKKernel(
  device: GPUDevice,
  x: { q: Strided | Tensor; k: Strided | Tensor; scale: number },
  buffers: { q?: GPUBuffer; k?: GPUBuffer } | undefined,
  run: QKRun,
): Promise<Float32Array> {
  return runKernel(device, {
    label: run.label,
    body: `${QK_WGSL}\n${run.body}`,
    uniforms: [{ name: 'qk', type: 'QK', data: qkUniform(x.q, x.k, x.scale) }, ...(run.params ? [{ name: 'p', ...run.params }] : [])],
    inputs: [{ name: 'q', data: gpuInput(x.q, buffers?.q) }, { name: 'k', data: gpuInput(x.k, buffers?.k) }, ...(run.extraInputs ?? [])],
    output: run.output,
    workgroups: run.workgroups,
  });
}

/** Data for a tensor input: its GPU buffer when there is one, otherwise its values. */
export function gpuInput(t: Strided | Tensor, buffer?: GPUBuffer): GpuInput {
  if (buffer) return buffer;
  if ('data' in t) return t.data;
  throw new Error('a tensor without data needs its GPU buffer');
}

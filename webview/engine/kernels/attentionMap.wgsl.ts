/** WGSL kernel: a head's map pooled to P×P cells by signed max-|a| (CPU twin: attentionMap.cpu.ts). One thread per cell. */
import { validateMap, type MapShape } from './attentionMap.cpu';
import { QK_WGSL, gpuInput, qkUniform, runKernel } from './gpuRun';

export const attentionMapWgsl = /* wgsl */ `
struct MapP { s1: u32, s2: i32, lambda: f32, cells: u32 };
@group(0) @binding(0) var<uniform> qk: QK;
@group(0) @binding(1) var<uniform> mp: MapP;
@group(0) @binding(2) var<storage, read> q: array<f32>;
@group(0) @binding(3) var<storage, read> k: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
${QK_WGSL}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  let r = g.y;
  let P = mp.cells;
  if (c >= P || r >= P) { return; }
  let T = qk.tokens;
  let i0 = (r * T) / P;
  let i1 = ((r + 1u) * T) / P;
  let j0 = (c * T) / P;
  let j1 = ((c + 1u) * T) / P;
  var best = 0.0;
  for (var i = i0; i < i1; i = i + 1u) {
    let jEnd = min(j1, i + 1u);
    for (var j = j0; j < jEnd; j = j + 1u) {
      var a = exp(logit(mp.s1, i, j) - lse[mp.s1 * T + i]);
      if (mp.s2 >= 0) {
        let s2 = u32(mp.s2);
        a = a - mp.lambda * exp(logit(s2, i, j) - lse[s2 * T + i]);
      }
      if (abs(a) > abs(best)) { best = a; }
    }
  }
  out[r * P + c] = best;
}
`;

export async function attentionMapGpu(device: GPUDevice, x: MapShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { P } = validateMap(x);
  const params = new ArrayBuffer(16);
  new Uint32Array(params, 0, 1)[0] = x.s1;
  new Int32Array(params, 4, 1)[0] = x.s2;
  new Float32Array(params, 8, 1)[0] = x.lambda;
  new Uint32Array(params, 12, 1)[0] = P;
  return runKernel(device, {
    label: 'attentionMap',
    code: attentionMapWgsl,
    uniforms: [qkUniform(x.q, x.k, x.scale), params],
    inputs: [gpuInput(x.q, buffers?.q), gpuInput(x.k, buffers?.k), x.lse],
    outputFloats: P * P,
    workgroups: [Math.ceil(P / 8), Math.ceil(P / 8)],
  });
}

/** WGSL kernel: a head's map pooled to P×P cells by signed max-|a| (CPU twin: attentionMap.cpu.ts). One thread per cell. */
import { validateMap, type MapShape } from './attentionMap.cpu';
import { lambdaRows } from '../../../src/core/attention';
import { PAIR_WGSL, pairUniform, runQKKernel } from './gpuRun';

export const attentionMapWgsl = /* wgsl */ `
${PAIR_WGSL}
@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  let c = g.x;
  let r = g.y;
  let P = p.extra;
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
      var a = exp(logit(p.s1, i, j) - lse[p.s1 * T + i]);
      if (p.s2 >= 0) {
        let s2 = u32(p.s2);
        a = a - lam[i] * exp(logit(s2, i, j) - lse[s2 * T + i]);
      }
      if (abs(a) > abs(best)) { best = a; }
    }
  }
  out[r * P + c] = best;
}
`;

export async function attentionMapGpu(device: GPUDevice, x: MapShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T, P } = validateMap(x);
  return runQKKernel(device, x, buffers, {
    label: 'attentionMap',
    body: attentionMapWgsl,
    params: { type: 'Pair', data: pairUniform(x.s1, x.s2, 0, P) },
    extraInputs: [{ name: 'lse', data: x.lse }, { name: 'lam', data: lambdaRows(x.lambda, T) }],
    output: { name: 'out', floats: P * P },
    workgroups: [Math.ceil(P / 8), Math.ceil(P / 8)],
  });
}

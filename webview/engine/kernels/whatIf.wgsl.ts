/** WGSL kernel: the what-if views of one row, one workgroup (CPU twin: whatIf.cpu.ts). */
import { PAIR_WGSL, pairUniform, reduceWgsl, runQKKernel } from './gpuRun';
import { WHAT_IF_VIEWS, validateWhatIf, type WhatIfShape } from './whatIf.cpu';

const WG = 256;
const V = WHAT_IF_VIEWS.length;

export const whatIfWgsl = /* wgsl */ `
${PAIR_WGSL}
${reduceWgsl(WG)}
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let T = qk.tokens;
  let i = p.extra;
  let n = i + 1u;
  let X1 = ${V}u * T;      // scratch: x1 after the views
  let X2 = X1 + T;          // scratch: x2
  var m1 = -3.402823e38; var m2 = -3.402823e38; var ma = 0.0;
  for (var j = tid; j < T; j = j + ${WG}u) {
    for (var v = 0u; v < ${V}u; v = v + 1u) { out[v * T + j] = 0.0; }
    if (j <= i) {
      let a = logit(p.s1, i, j);
      var b = 0.0;
      if (p.s2 >= 0) { b = logit(u32(p.s2), i, j); }
      out[X1 + j] = a; out[X2 + j] = b;
      m1 = max(m1, a); m2 = max(m2, b); ma = max(ma, abs(a));
    }
  }
  m1 = reduce(tid, m1, true);
  m2 = reduce(tid, m2, true);
  ma = reduce(tid, ma, true);
  var s1 = 0.0; var s2 = 0.0; var dp = 0.0; var c = 0.0;
  for (var j = tid; j <= i; j = j + ${WG}u) {
    let e = exp(out[X1 + j] - m1);
    s1 = s1 + e;
    s2 = s2 + exp(out[X2 + j] - m2);
    dp = dp + abs(e - exp(-m1));
    c = c + exp(abs(out[X1 + j]) - ma);
  }
  s1 = reduce(tid, s1, false);
  s2 = reduce(tid, s2, false);
  dp = reduce(tid, dp, false);
  c = reduce(tid, c, false);
  for (var j = tid; j <= i; j = j + ${WG}u) {
    let x1 = out[X1 + j];
    let e = exp(x1 - m1);
    let a1 = e / s1;
    var a2 = 0.0;
    if (p.s2 >= 0) { a2 = exp(out[X2 + j] - m2) / s2; }
    let d = a1 - p.lambda * a2;
    out[j] = d;
    out[T + j] = max(0.0, d);
    out[2u * T + j] = select(0.0, a1, d > 0.0);
    out[3u * T + j] = select(0.0, max(0.0, e - exp(-m1)) / dp, dp > 0.0);
    out[4u * T + j] = 2.0 * (a1 - 0.5);
    out[5u * T + j] = e / (exp(-m1) + s1);
    out[6u * T + j] = 1.0 / (1.0 + exp(-(x1 - log(f32(n)))));
    out[7u * T + j] = sign(x1) * (exp(abs(x1) - ma) / c);
  }
}
`;

export async function whatIfGpu(device: GPUDevice, x: WhatIfShape, buffers?: { q?: GPUBuffer; k?: GPUBuffer }): Promise<Float32Array> {
  const { T } = validateWhatIf(x);
  const all = await runQKKernel(device, x, buffers, {
    label: 'whatIf',
    body: whatIfWgsl,
    params: { type: 'Pair', data: pairUniform(x.s1, x.s2, x.lambda, x.query) },
    output: { name: 'out', floats: (V + 2) * T }, // two rows of scratch after the views
    workgroups: [1],
  });
  return all.slice(0, V * T);
}

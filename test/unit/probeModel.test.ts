import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { ModelProto } from '../../src/core/onnx/modelBuilder';
import { buildProbeModel } from '../../src/core/onnx/probeModel';
import { PROBE_DIM, maxAbsDiff, probeInput, probeReference } from '../../src/core/probe';

ort.env.wasm.numThreads = 1;

test('the probe model decodes as ONNX with a dynamic length and opset 17', () => {
  const m = ModelProto.toObject(ModelProto.decode(buildProbeModel()), { longs: Number }) as {
    opset_import: { version: number }[];
    graph: { input: { name: string; type: { tensor_type: { shape: { dim: { dim_param?: string; dim_value?: number }[] } } } }[] };
  };
  assert.equal(m.opset_import[0].version, 17);
  const dims = m.graph.input[0].type.tensor_type.shape.dim;
  assert.deepEqual(dims.map((d) => d.dim_param ?? d.dim_value), [1, 'T', PROBE_DIM]);
});

test('onnxruntime-web (wasm, Node) runs the probe and matches the float64 reference', async () => {
  const session = await ort.InferenceSession.create(buildProbeModel(), { executionProviders: ['wasm'] });
  try {
    for (const T of [1, 5, 33]) {
      const x = probeInput(T);
      const out = await session.run({ x: new ort.Tensor('float32', x, [1, T, PROBE_DIM]) });
      const probs = out.probs.data as Float32Array;
      assert.deepEqual(out.probs.dims, [1, T, T]);
      assert.ok(maxAbsDiff(probs, probeReference(x, T)) < 1e-5, `T=${T}`);
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j < T; j++) {
          if (j > i) assert.equal(probs[i * T + j], 0, `causal entry (${i}, ${j}) is exactly 0`);
          sum += probs[i * T + j];
        }
        assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} sums to 1`);
      }
    }
  } finally {
    await session.release();
  }
});

test('the reference is not trivially uniform (the probe would hide bugs otherwise)', () => {
  const T = 12;
  const p = probeReference(probeInput(T), T);
  const last = p.subarray(T * (T - 1));
  assert.ok(Math.max(...last) > 2 / T, 'some key gets clearly more than uniform weight');
});

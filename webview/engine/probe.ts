import { PROBE_DIM, PROBE_INPUT, PROBE_OUTPUT, maxAbsDiff, probeInput, probeReference } from '../../src/core/probe';
import type { Backend, ProbeResult } from '../../src/core/protocol';
import { openSession } from './ortRuntime';

/** Runs the probe graph on the given backend and compares its output with the JavaScript reference. */
export async function runProbe(model: Uint8Array, backend: Backend, tokens: number): Promise<ProbeResult> {
  const t0 = performance.now();
  const { session, ort, backend: actual } = await openSession(model, backend);
  const t1 = performance.now();
  try {
    const x = probeInput(tokens);
    const out = await session.run({ [PROBE_INPUT]: new ort.Tensor('float32', x, [1, tokens, PROBE_DIM]) });
    const t2 = performance.now();
    const probs = out[PROBE_OUTPUT];
    if (!probs) throw new Error(`the probe model has no output named "${PROBE_OUTPUT}"`);
    const data = (await probs.getData()) as Float32Array;
    const expected = probeReference(x, tokens);
    return {
      backend: actual,
      tokens,
      firstRow: Array.from(data.subarray(tokens * (tokens - 1), tokens * tokens)).slice(0, 8),
      maxAbsError: maxAbsDiff(data, expected),
      sessionMs: t1 - t0,
      runMs: t2 - t1,
    };
  } finally {
    await session.release();
  }
}

import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { Tensor, diffRow, softmaxRow } from '../../src/core/attention';
import { manifestJsonSchema, type Manifest } from '../../src/core/manifest';
import { PackageError, validatePackage } from '../../src/model/packageValidator';
import { maxAbsDiff } from '../../src/core/probe';
import { wholeTextFeeds } from '../fixtures/feeds';

ort.env.wasm.numThreads = 1;
const PACKAGES = ['media/models/twin-diff', 'media/models/twin-softmax'];

interface Fixture {
  ids: number[];
  lastLogits: number[];
  rows: { layer: number; query: number; lambda?: number; a1?: number[][]; a2?: number[][]; diff?: number[][]; a?: number[][] }[];
}

async function run(folder: string) {
  const pkg = await validatePackage(folder);
  const m = pkg.manifest;
  const fx: Fixture = JSON.parse(readFileSync(`test/fixtures/models/${m.name}.json`, 'utf8'));
  const session = await ort.InferenceSession.create(readFileSync(pkg.onnxPath), { executionProviders: ['wasm'] });
  try {
    const T = fx.ids.length;
    const out = await session.run(wholeTextFeeds(ort, m, fx.ids));
    return { m, fx, out, T };
  } finally {
    await session.release();
  }
}

function qk(m: Manifest, out: Record<string, ort.Tensor>, layer: number) {
  const t = (spec: { name: string; layout: Manifest['outputs']['q']['layout'] }) => {
    const o = out[spec.name.replace('{layer}', String(layer))];
    return new Tensor(o.data as Float32Array, o.dims, spec.layout);
  };
  return { q: t(m.outputs.q), k: t(m.outputs.k) };
}

for (const folder of PACKAGES) {
  test(`model package ${folder}: ONNX logits and the attention rows recomputed from its Q/K match PyTorch (1e-4)`, async () => {
    const { m, fx, out, T } = await run(folder);
    const logits = out[m.outputs.logits.name];
    assert.deepEqual(logits.dims, [1, T, m.vocabSize]);
    const last = (logits.data as Float32Array).subarray((T - 1) * m.vocabSize, T * m.vocabSize);
    assert.ok(maxAbsDiff(last, fx.lastLogits) < 1e-4, `logits differ by ${maxAbsDiff(last, fx.lastLogits)}`);
    for (const r of fx.rows) {
      const { q, k } = qk(m, out, r.layer);
      if (m.attention === 'diff-v1') {
        const lam = (out[m.outputs.lambda!.name.replace('{layer}', String(r.layer))].data as Float32Array)[0];
        assert.ok(Math.abs(lam - r.lambda!) < 1e-5, `λ layer ${r.layer}: ${lam} vs ${r.lambda}`);
        for (let h = 0; h < m.heads; h++) {
          const row = diffRow(q, k, m, h, r.query, lam);
          assert.ok(maxAbsDiff(row.a1, r.a1![h]) < 1e-4, `A1 layer ${r.layer} head ${h}`);
          assert.ok(maxAbsDiff(row.a2, r.a2![h]) < 1e-4, `A2 layer ${r.layer} head ${h}`);
          assert.ok(maxAbsDiff(row.diff, r.diff![h]) < 1e-4, `A1 − λA2 layer ${r.layer} head ${h}`);
        }
      } else {
        for (let h = 0; h < m.heads; h++) {
          assert.ok(maxAbsDiff(softmaxRow(q, k, h, r.query, m.scale), r.a![h]) < 1e-4, `A layer ${r.layer} head ${h}`);
        }
      }
    }
  });

  test(`model package ${folder}: rows from Q/K sum to 1 (A1, A2, A) or 1 − λ (A1 − λA2) and causal entries are exactly 0`, async () => {
    const { m, out, T } = await run(folder);
    for (let l = 0; l < m.layers; l++) {
      const { q, k } = qk(m, out, l);
      const lam = m.outputs.lambda ? (out[m.outputs.lambda.name.replace('{layer}', String(l))].data as Float32Array)[0] : 0;
      for (let query = 0; query < T; query++) {
        for (let h = 0; h < m.heads; h++) {
          const rows = m.attention === 'diff-v1' ? diffRow(q, k, m, h, query, lam) : { a1: softmaxRow(q, k, h, query, m.scale) };
          const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
          for (const a of [rows.a1, 'a2' in rows ? rows.a2 : rows.a1]) {
            assert.ok(Math.abs(sum(a) - 1) < 1e-5);
            for (let j = query + 1; j < T; j++) assert.equal(a[j], 0);
          }
          if ('diff' in rows) {
            assert.ok(Math.abs(sum(rows.diff) - (1 - lam)) < 1e-5, `A1 − λA2 sums to 1 − λ`);
            for (let j = query + 1; j < T; j++) assert.equal(rows.diff[j], 0);
          }
        }
      }
    }
  });
}

test('the twins name each other, match in parameters (±0.1%), and fit in 30 MB together', async () => {
  const [d, s] = await Promise.all(PACKAGES.map((p) => validatePackage(p)));
  assert.equal(d.manifest.twin?.name, s.manifest.name);
  assert.equal(s.manifest.twin?.name, d.manifest.name);
  assert.ok(Math.abs(d.manifest.parameters - s.manifest.parameters) / s.manifest.parameters < 1e-3);
  const bytes = PACKAGES.flatMap((p) => ['model.onnx', 'tokenizer.json', 'manifest.json'].map((f) => statSync(join(p, f)).size)).reduce((a, b) => a + b, 0);
  assert.ok(bytes <= 30 * 2 ** 20, `${bytes} bytes`);
});

test('media/models/manifest.schema.json is the JSON schema generated from the zod schema', () => {
  assert.deepEqual(JSON.parse(readFileSync('media/models/manifest.schema.json', 'utf8')), manifestJsonSchema());
});

async function brokenCopy(edit: (dir: string, manifest: Record<string, unknown>) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'attn-pkg-'));
  for (const f of ['model.onnx', 'tokenizer.json']) copyFileSync(join(PACKAGES[0], f), join(dir, f));
  const manifest = JSON.parse(readFileSync(join(PACKAGES[0], 'manifest.json'), 'utf8'));
  edit(dir, manifest);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  try {
    await validatePackage(dir);
    return '';
  } catch (e) {
    assert.ok(e instanceof PackageError, String(e));
    return e.message;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a package with a missing file is rejected, naming the file and the manifest field', async () => {
  const msg = await brokenCopy((dir) => rmSync(join(dir, 'tokenizer.json')));
  assert.match(msg, /tokenizer\.json: file missing \(manifest\.json field files\.tokenizer\)/);
});

test('a package whose manifest names an output the graph lacks is rejected, naming the output', async () => {
  const msg = await brokenCopy((_, m) => ((m.outputs as { q: { name: string } }).q.name = 'query_{layer}'));
  assert.match(msg, /has no output "query_0"/);
});

test('a manifest field of the wrong type is rejected, naming the file and the field', async () => {
  const msg = await brokenCopy((_, m) => (m.layers = '4'));
  assert.match(msg, /manifest\.json: layers is the text "4"; expected a whole number from 1 to 1024 \(the number of layers\)/);
  const msg2 = await brokenCopy((_, m) => ((m.files as { onnx: string }).onnx = '../../etc/passwd'));
  assert.match(msg2, /manifest\.json: files "..\/..\/etc\/passwd" must stay inside the package folder/);
});

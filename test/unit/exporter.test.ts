// The Python exporter (training/export_model.py), run as a user would, then checked in Node with the real engine:
// it round-trips the bundled twins (same logits and rows as the shipped packages), and a nanoGPT-style model's
// package reproduces the attention that model computed itself (captured from its own softmax in PyTorch).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { validatePackage } from '../../src/model/packageValidator';
import { AttentionEngine } from '../../webview/engine/engine';

ort.env.wasm.numThreads = 1;
// Debian's python3 carries python3-torch and python3-onnx (scripts/setup-tools.sh installs them).
const PYTHON = process.env.ATTN_PYTHON ?? '/usr/bin/python3';

function python(args: string[], env: Record<string, string> = {}): void {
  const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `${PYTHON} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
}

async function load(folder: string) {
  const pkg = await validatePackage(folder);
  return { pkg, engine: await AttentionEngine.create(ort, pkg.manifest, readFileSync(pkg.onnxPath), 'wasm') };
}

/**
 * The graph was traced on one input length: a shorter input must run too, and a causal model gives its last token the
 * same row as that token gets in the longer input.
 */
async function prefixAgrees(engine: AttentionEngine, ids: number[], what: string): Promise<void> {
  const n = Math.max(2, Math.floor(ids.length / 2));
  const full = await (await engine.analyze(ids)).rows(n - 1);
  const short = await (await engine.analyze(ids.slice(0, n))).rows(n - 1);
  short.layers.forEach((layer, l) => layer.heads.forEach((h, j) => assert.ok(maxDiff(h.a, full.layers[l].heads[j].a.subarray(0, n)) < 1e-5, `${what}: ${n} tokens, layer ${l} head ${j}`)));
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('exporter round trip: re-exporting each bundled twin gives the shipped manifest, logits and rows (1e-5)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-export-'));
  for (const name of ['twin-diff', 'twin-softmax']) {
    python(['training/export_model.py', 'ours', '--package', `media/models/${name}`, '--out', join(dir, name)]);
    assert.deepEqual(JSON.parse(readFileSync(join(dir, name, 'manifest.json'), 'utf8')), JSON.parse(readFileSync(`media/models/${name}/manifest.json`, 'utf8')));
    const shipped = await load(`media/models/${name}`);
    const again = await load(join(dir, name));
    try {
      const ids = [0, 312, 45, 7, 1999, 8000, 15, 15, 640, 22, 3, 4096, 77];
      const [a, b] = [await shipped.engine.analyze(ids), await again.engine.analyze(ids)];
      assert.ok(maxDiff(await a.logits(), await b.logits()) < 1e-4, `${name}: logits`);
      for (const query of [0, 6, ids.length - 1]) {
        const [ra, rb] = [await a.rows(query), await b.rows(query)];
        ra.layers.forEach((layer, l) => {
          if (layer.lambda !== undefined) assert.ok(Math.abs(layer.lambda - rb.layers[l].lambda!) < 1e-6);
          layer.heads.forEach((h, j) => assert.ok(maxDiff(h.a, rb.layers[l].heads[j].a) < 1e-5, `${name} layer ${l} head ${j} query ${query}`));
        });
      }
      const [va, vb] = [await a.valueWeighted(1, 0, ids.length - 1), await b.valueWeighted(1, 0, ids.length - 1)];
      assert.ok(maxDiff(va, vb) < 1e-4, `${name}: value-weighted row`);
    } finally {
      await shipped.engine.release();
      await again.engine.release();
    }
  }
});

test('exporter, nanoGPT layout: the package\'s attention equals the attention the PyTorch model computed, and its logits match', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-export-'));
  python(['test/fixtures/nanogpt/model.py', join(dir, 'ckpt.pt')]);
  python(['training/export_model.py', 'nanogpt', '--nanogpt-dir', 'test/fixtures/nanogpt', '--checkpoint', join(dir, 'ckpt.pt'), '--tokenizer', 'media/models/twin-diff/tokenizer.json', '--out', join(dir, 'pkg'), '--fixture', join(dir, 'fx.json')]);
  const fx = JSON.parse(readFileSync(join(dir, 'fx.json'), 'utf8')) as { ids: number[]; logits: number[]; rows: { layer: number; query: number; a: number[][] }[] };
  const { pkg, engine } = await load(join(dir, 'pkg'));
  assert.equal(pkg.manifest.attention, 'softmax');
  assert.equal(pkg.manifest.rope.style, 'none');
  assert.equal(pkg.manifest.heads, 4);
  assert.ok(fx.rows.length >= 4, 'the fixture holds rows captured from the model');
  try {
    const a = await engine.analyze(fx.ids);
    assert.ok(maxDiff(await a.logits(), fx.logits) < 1e-4, 'logits');
    for (const r of fx.rows) {
      const rows = await a.rows(r.query);
      r.a.forEach((want, h) => assert.ok(maxDiff(rows.layers[r.layer].heads[h].a, want) < 1e-5, `layer ${r.layer} head ${h} query ${r.query}`));
    }
    await prefixAgrees(engine, fx.ids, 'nanogpt');
  } finally {
    await engine.release();
  }
});

test('exporter, transformers adapter, run against a MOCK of transformers (the real package cannot be installed here): Llama with grouped K/V and DiffLlama (halves, λ per layer) reproduce the attention the models computed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ai-export-'));
  python(['test/fixtures/mock_transformers/make_models.py', dir, 'media/models/twin-diff/tokenizer.json']);
  for (const [name, attention, pairing, heads] of [['llama', 'softmax', 'none', 4], ['diffllama', 'diff-v1', 'halves', 2]] as const) {
    python(['training/export_model.py', 'hf', '--model', join(dir, name), '--out', join(dir, `pkg-${name}`), '--fixture', join(dir, `fx-${name}.json`)], { PYTHONPATH: 'test/fixtures/mock_transformers' });
    const fx = JSON.parse(readFileSync(join(dir, `fx-${name}.json`), 'utf8')) as { ids: number[]; logits: number[]; rows: { layer: number; query: number; a: number[][] }[] };
    const { pkg, engine } = await load(join(dir, `pkg-${name}`));
    assert.equal(pkg.manifest.attention, attention);
    assert.equal(pkg.manifest.pairing, pairing);
    assert.equal(pkg.manifest.rope.style, 'neox');
    assert.equal(pkg.manifest.heads, heads);
    assert.equal(pkg.manifest.qkHeads, 4, 'grouped K/V are expanded to one K per query head');
    try {
      const a = await engine.analyze(fx.ids);
      assert.ok(maxDiff(await a.logits(), fx.logits) < 1e-4, `${name}: logits`);
      for (const r of fx.rows) {
        const rows = await a.rows(r.query);
        r.a.forEach((want, h) => assert.ok(maxDiff(rows.layers[r.layer].heads[h].a, want) < 1e-5, `${name} layer ${r.layer} head ${h} query ${r.query}`));
      }
      await prefixAgrees(engine, fx.ids, name);
    } finally {
      await engine.release();
    }
  }
});

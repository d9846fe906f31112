// Bring your own model in the real extension host: ONNX folders opened with Choose Model are rewritten, cached and
// run in the panel's real engine; their highlights equal an independent reference forward pass of the same weights.
import * as assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { TextTokenizer } from '../../../src/core/tokenizer';
import { diffV2Tiny, fusedTiny, gpt2Tiny, type TinyModel } from '../../fixtures/tinyModels';
import { EXT_ID, api, untitledEditor } from './harness';

const config = () => vscode.workspace.getConfiguration('attentionInspector');
const G = vscode.ConfigurationTarget.Global;
const TEXT = 'def add(a, b):\n    # sum of two numbers\n    return a + b\n\nprint(add(2, 3))\n';

const tokenizerPath = () => join(vscode.extensions.getExtension(EXT_ID)!.extensionUri.fsPath, 'media', 'models', 'twin-diff', 'tokenizer.json');

function writeFolder(root: string, name: string, onnx: Uint8Array, config?: unknown): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', 'model.onnx'), onnx);
  copyFileSync(tokenizerPath(), join(dir, 'tokenizer.json'));
  if (config) writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

/** Mean over layers and heads of the reference rows at `query`. */
function referenceMean(tiny: TinyModel, ids: number[], query: number): Float64Array {
  const { rows } = tiny.reference(ids);
  const out = new Float64Array(ids.length);
  const n = rows.length * rows[0].length;
  for (const layer of rows) for (const head of layer) for (let j = 0; j < ids.length; j++) out[j] += head[query][j] / n;
  return out;
}
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

suite('Bring your own model (ONNX folders rewritten by the extension, real engine)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-byom-'));
  const gpt2 = gpt2Tiny({ vocab: 8192, d: 16, heads: 2, layers: 2, maxT: 128, seed: 31 });
  const v2 = diffV2Tiny({ vocab: 8192, d: 16, heads: 4, layers: 2, maxT: 128, seed: 37 });
  let ids: number[] = [];
  let gpt2Id = '';

  suiteSetup(async () => {
    await config().update('backend', 'wasm', G);
    await config().update('followCursor', false, G);
    ids = new TextTokenizer(JSON.parse(readFileSync(tokenizerPath(), 'utf8'))).encode(TEXT).ids;
  });
  suiteTeardown(async () => {
    for (const k of ['backend', 'followCursor', 'maxModelSizeMB', 'modelPath', 'chooseView']) await config().update(k, undefined, G);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    await vscode.commands.executeCommand('attentionInspector.clear');
  });
  setup(async () => {
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 'all', head: 'mean' });
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'model');
  });

  test('Choose Model opens a GPT-2-style ONNX folder; the highlights equal the reference attention; it has no twin to compare', async () => {
    const a = await api();
    const folder = writeFolder(root, 'gpt2-tiny', gpt2.onnx, gpt2.config);
    const id = await vscode.commands.executeCommand<string>('attentionInspector.chooseModel', { folder });
    assert.match(id ?? '', /^gpt2-tiny-[0-9a-f]{10}$/);
    gpt2Id = id!;
    assert.equal(a.inspector.snapshot().model, id);
    const ed = await untitledEditor(TEXT, 'python');
    await vscode.commands.executeCommand('attentionInspector.analyzeDocument');
    const snap = a.inspector.snapshot();
    assert.deepEqual(snap.session?.models, [id]);
    assert.equal(snap.session?.tokens, ids.length, 'the same tokens as the reference');
    const off = TEXT.indexOf('return');
    const toks = a.inspector.tokens();
    const t = toks.findIndex(([s, e]) => s <= off && off < e);
    const w = await a.inspector.focusOffset(ed.document.offsetAt(ed.document.positionAt(off)));
    assert.ok(w, 'painted');
    assert.ok(maxDiff(w, referenceMean(gpt2, ids, t)) < 1e-5, 'the tints are the reference mean over layers and heads');
    assert.match(await a.inspector.hoverText(t), new RegExp(id!));
    await vscode.commands.executeCommand('attentionInspector.compareWithTwin', true);
    assert.equal(a.inspector.snapshot().compare, false, 'a model without a twin cannot be compared');
    // Opening the same folder again reuses the cached rewrite.
    const again = await a.openModel(folder);
    assert.equal(again.id, id);
    assert.equal(again.rewritten, true);
  });

  test('a DIFF V2 ONNX graph opens as diff-v2: rows use λ per token and head and equal the reference; A1 and λ·A2 split each row', async () => {
    const a = await api();
    const folder = writeFolder(root, 'diff-v2-tiny', v2.onnx, v2.config);
    const opened = await a.openModel(folder);
    assert.equal(opened.attention, 'diff-v2');
    await vscode.commands.executeCommand('attentionInspector.chooseModel', opened.id);
    await untitledEditor(TEXT, 'python');
    await vscode.commands.executeCommand('attentionInspector.analyzeDocument');
    const ref = v2.reference(ids);
    const q = ids.length - 1;
    const rows = await a.rows(q, opened.id);
    assert.equal(rows.heads, 2);
    for (let l = 0; l < 2; l++) for (let h = 0; h < 2; h++) {
      const o = (l * 2 + h) * rows.tokens;
      assert.ok(maxDiff(rows.a.subarray(o, o + rows.tokens), ref.rows[l][h][q]) < 1e-5, `layer ${l} pair ${h}`);
      // A1 − A = λ_q·A2 with this token's own λ.
      for (let j = 0; j <= q; j++) assert.ok(Math.abs(rows.a1![o + j] - rows.a[o + j] - ref.lambdas![l][h][q] * rows.a2![o + j]) < 1e-5);
    }
    assert.equal(rows.lambda?.length, 4, 'rows carry each head\'s λ at the query');
    const card = await a.inspector.hoverText(q);
    assert.match(card, /A1/);
    assert.match(card, /λ·A2/);
    assert.match(card, /λ at this token \(DIFF V2/);
    for (let l = 0; l < 2; l++) assert.ok(card.includes(((ref.lambdas![l][0][q] + ref.lambdas![l][1][q]) / 2).toFixed(3)), `the card shows layer ${l}'s λ at this token`);
  });

  test('a graph with an ALiBi bias is checked on load: its attention is read from the softmax outputs and still equals the reference', async () => {
    const a = await api();
    const alibi = gpt2Tiny({ vocab: 8192, d: 16, heads: 2, layers: 2, maxT: 128, seed: 47 }, { alibi: true });
    const opened = await a.openModel(writeFolder(root, 'alibi-tiny', alibi.onnx, alibi.config));
    await vscode.commands.executeCommand('attentionInspector.chooseModel', opened.id);
    const ed = await untitledEditor(TEXT, 'python');
    await vscode.commands.executeCommand('attentionInspector.analyzeDocument');
    assert.equal(a.inspector.snapshot().session?.tokens, ids.length);
    const off = TEXT.indexOf('print');
    const t = a.inspector.tokens().findIndex(([s0, e]) => s0 <= off && off < e);
    const w = await a.inspector.focusOffset(ed.document.offsetAt(ed.document.positionAt(off)));
    assert.ok(w && maxDiff(w, referenceMean(alibi, ids, t)) < 1e-5, 'the tints include the ALiBi bias');
    // The panel keeps one user model resident; going back to an earlier one sends it again.
    const again = await a.analyzeText(TEXT, gpt2Id);
    assert.equal(again.info.readFrom, 'qk');
    const rows = await a.rows(ids.length - 1, gpt2Id);
    assert.ok(maxDiff(rows.a.subarray(0, ids.length), gpt2.reference(ids).rows[0][0][ids.length - 1]) < 1e-5);
  });

  test('fused attention, a model over the size limit, and a folder without a model are refused with messages that say why', async () => {
    const a = await api();
    const fused = writeFolder(root, 'fused', fusedTiny({ vocab: 8192, d: 8, heads: 2, layers: 1, maxT: 16, seed: 3 }));
    await assert.rejects(a.openModel(fused), /fused operator com\.microsoft\.MultiHeadAttention.*attention weights never exist.*eager/s);
    await config().update('maxModelSizeMB', 0.5, G);
    await assert.rejects(a.openModel(join(root, 'gpt2-tiny')), /over the limit of 0\.5 MB; raise the setting attentionInspector\.maxModelSizeMB/);
    await config().update('maxModelSizeMB', undefined, G);
    mkdirSync(join(root, 'nothing'), { recursive: true });
    await assert.rejects(a.openModel(join(root, 'nothing')), /no manifest\.json and no \.onnx file/);
  });

  test('the user setting attentionInspector.modelPath opens its folder and selects the model', async () => {
    const a = await api();
    const folder = writeFolder(root, 'from-setting', gpt2.onnx, gpt2.config);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    await config().update('modelPath', folder, G);
    const end = Date.now() + 30_000;
    while (!a.inspector.snapshot().model.startsWith('from-setting-') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.match(a.inspector.snapshot().model, /^from-setting-[0-9a-f]{10}$/);
    await config().update('modelPath', undefined, G);
  });
});

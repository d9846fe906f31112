// Hostile model folders opened through the real extension host (api.openModel → the worker thread → the panel's
// engine): each case ends in a clear refusal or a model whose attention in the panel equals the independent
// reference. Around every case: no unhandled rejection, nothing written under the test's folders (the cache lives in
// the extension's global storage), no byte of a file outside the chosen folder in any message, and the bounds that
// must hold before anything is allocated are checked by time.
import * as assert from 'node:assert/strict';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { TextTokenizer } from '../../../src/core/tokenizer';
import { HOSTILE_CASES, SECRET } from '../../fixtures/hostileModels';
import { EXT_ID, api } from './harness';

const config = () => vscode.workspace.getConfiguration('attentionInspector');
const G = vscode.ConfigurationTarget.Global;
const TEXT = 'def add(a, b):\n    # the sum of two numbers\n    return a + b\n';


/** Every path under `dir` (links not followed) with its kind, size and mtime. */
function tree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const s = lstatSync(p);
      out.set(p, `${s.isSymbolicLink() ? 'l' : s.isDirectory() ? 'd' : 'f'}:${s.size}:${s.mtimeMs}`);
      if (s.isDirectory() && !s.isSymbolicLink()) walk(p);
    }
  };
  walk(dir);
  return out;
}

suite('hostile model folders through the real extension host (api.openModel, the worker, the panel)', () => {
  const root = mkdtempSync(join(tmpdir(), 'ai-hostile-e2e-'));
  const repo = () => vscode.extensions.getExtension(EXT_ID)!.extensionUri.fsPath;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  suiteSetup(async () => {
    process.on('unhandledRejection', onUnhandled);
    await config().update('backend', 'wasm', G);
    await config().update('followCursor', false, G);
  });
  suiteTeardown(async () => {
    process.off('unhandledRejection', onUnhandled);
    for (const k of ['backend', 'followCursor']) await config().update(k, undefined, G);
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    rmSync(root, { recursive: true, force: true });
  });

  for (const c of HOSTILE_CASES) {
    test(c.title, async () => {
      const a = await api();
      const dir = c.build(root, repo());
      const before = tree(root);
      const t0 = Date.now();
      if (c.refuses) {
        await assert.rejects(a.openModel(dir), (e: Error) => {
          assert.match(e.message, c.refuses!);
          assert.ok(!e.message.includes('SECRET') && !e.message.includes(SECRET.slice(0, 10)), 'no byte of a file outside the folder');
          return true;
        });
      } else {
        const opened = await a.openModel(dir);
        if (c.note) assert.match(opened.notes.join('\n'), c.note);
        if (c.tiny) {
          const tiny = c.tiny();
          const { info, spans } = await a.analyzeText(TEXT, opened.id);
          const ids = spans.map((s) => s.id);
          assert.equal(info.tokens, ids.length);
          // The panel tokenized with the folder's tokenizer: the same ids as the tokenizer on its own.
          assert.deepEqual(ids, new TextTokenizer(JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'))).encode(TEXT).ids);
          const q = ids.length - 1;
          const rows = await a.rows(q, opened.id);
          const ref = tiny.reference(ids);
          for (let l = 0; l < ref.rows.length; l++) for (let h = 0; h < ref.rows[l].length; h++) {
            const o = (l * rows.heads + h) * rows.tokens;
            for (let j = 0; j <= q; j++) assert.ok(Math.abs(rows.a[o + j] - ref.rows[l][h][q][j]) < 1e-5, `layer ${l} head ${h} key ${j}: ${rows.a[o + j]} vs ${ref.rows[l][h][q][j]}`);
          }
        }
      }
      const ms = Date.now() - t0;
      if (c.withinMs) assert.ok(ms < c.withinMs, `took ${ms} ms, more than ${c.withinMs} ms`);
      assert.deepEqual(tree(root), before, 'nothing written in or beside the model folder');
    });
  }

  test('a refusal through Choose Model shows the message and leaves the current model selected', async () => {
    const a = await api();
    await vscode.commands.executeCommand('attentionInspector.chooseModel', 'twin-diff');
    const c = HOSTILE_CASES.find((x) => x.title.startsWith('NaN'))!;
    const id = await vscode.commands.executeCommand<string | undefined>('attentionInspector.chooseModel', { folder: join(root, 'nan-weight') });
    assert.equal(id, undefined, 'the command reports the refusal instead of an id');
    assert.equal(a.inspector.snapshot().model, 'twin-diff');
    assert.ok(c.refuses);
    // The bundled model still analyses after all the refusals.
    const { info } = await a.analyzeText(TEXT, 'twin-diff');
    assert.ok(info.tokens > 5);
  });

  test('no unhandled promise rejection during the suite', () => {
    assert.deepEqual(unhandled.map(String), []);
  });
});

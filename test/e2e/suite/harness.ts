// What every extension-host suite needs: the extension's API, and waiting for a condition.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../../../src/extension';

export const EXT_ID = 'attention-inspector.attention-inspector';

/** A figure a test measured, by its title: the suite prints it under the test's line ("measured: …"). */
export const notes = new Map<string, string>();

export async function api(): Promise<AttentionInspectorApi> {
  const ext = vscode.extensions.getExtension<AttentionInspectorApi>(EXT_ID);
  assert.ok(ext, `${EXT_ID} is installed`);
  return ext.isActive ? ext.exports : ext.activate();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `f` until it returns something truthy; fails after `ms` naming what it waited for. */
export async function until<T>(f: () => T | undefined | false, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await sleep(50);
  }
}

/**
 * A new untitled document holding `content`, shown in the active editor. Two races of the real workbench are
 * handled: showTextDocument once gave an editor for another document, and a new untitled document can come back
 * with an older one's text (CI-23: a closed "Untitled-1" whose model was still alive, so the test worked on 420
 * characters that were not its own). The text is checked, and set by an edit when it is not the test's.
 */
export async function untitledEditor(content: string, language?: string): Promise<vscode.TextEditor> {
  const norm = (s: string) => s.replace(/\r\n/g, '\n');
  for (let attempt = 0; ; attempt++) {
    const doc = await vscode.workspace.openTextDocument({ content, language });
    const ed = await vscode.window.showTextDocument(doc);
    if (ed.document === doc) {
      if (norm(doc.getText()) !== norm(content)) {
        const all = new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length));
        await ed.edit((b) => b.replace(all, content));
      }
      // (VS Code may normalise line ends, so the text is compared without them)
      if (norm(doc.getText()) === norm(content)) return ed;
    }
    if (attempt === 2) {
      throw new Error(`no editor holding the new untitled document's text after 3 tries (got ${ed.document.uri.toString()}, ${ed.document.getText().length} characters)`);
    }
  }
}

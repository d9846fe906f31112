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

/**
 * Hostile-document benchmark, run inside the real extension host (code-server) by bench/hostile.mjs:
 *  1. the extension host's longest event-loop stall while a 1 MB single-line file and a 200k-token file are analysed
 *     and painted (tokenization in the worker thread), against tokenizing the same on the host thread as before the
 *     fix (the whole text read, the window or the whole text tokenized inline);
 *  2. the stall during 1,000 hovers in one second;
 *  3. memory over 200 analyses: the host's heap after a forced GC before and after, and the panel's (the driver
 *     measures the webview's JS heap through the DevTools protocol when asked, see bench/hostile.mjs).
 * wasm backend. Results go to $ATTN_BENCH_RESULTS as JSON.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as vscode from 'vscode';
import { chooseWindow } from '../src/core/textWindow';
import { TextTokenizer } from '../src/core/tokenizer';
import type { AttentionInspectorApi } from '../src/extension';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function run(): Promise<void> {
  try {
    await bench();
  } catch (e) {
    writeFileSync(process.env.ATTN_BENCH_RESULTS!, JSON.stringify({ error: String((e as Error)?.stack ?? e) }));
    throw e;
  }
}

async function stallOf(f: () => Promise<unknown> | unknown): Promise<{ maxMs: number; p99Ms: number; ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  await sleep(50);
  h.enable();
  const t0 = performance.now();
  await f();
  const ms = performance.now() - t0;
  await sleep(20); // a stall at the very end is only recorded at the next tick
  h.disable();
  return { maxMs: h.max / 1e6, p99Ms: h.percentile(99) / 1e6, ms };
}

/** Asks the driver to measure the webview's JS heap (after a GC there) and waits for its answer. */
let heapSource: string | null = null;
async function webviewHeap(label: string): Promise<number | null> {
  const dir = process.env.ATTN_BENCH_SYNC;
  if (!dir) return null;
  writeFileSync(join(dir, `ask-${label}`), '');
  const answer = join(dir, `heap-${label}.json`);
  for (let i = 0; i < 600 && !existsSync(answer); i++) await sleep(100);
  if (!existsSync(answer)) return null;
  const r = JSON.parse(readFileSync(answer, 'utf8'));
  heapSource = r.source;
  return r.usedBytes;
}

async function bench(): Promise<void> {
  const ext = vscode.extensions.getExtension<AttentionInspectorApi>('attention-inspector.attention-inspector')!;
  const api = ext.isActive ? ext.exports : await ext.activate();
  const G = vscode.ConfigurationTarget.Global;
  const cfg = vscode.workspace.getConfiguration('attentionInspector');
  await cfg.update('backend', 'wasm', G);
  await cfg.update('followCursor', false, G);
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const tok = new TextTokenizer(JSON.parse(readFileSync(join(ext.extensionPath, 'media/models/twin-diff/tokenizer.json'), 'utf8')));
  const dir = mkdtempSync(join(tmpdir(), 'attn-bench-hostile-'));
  const chunk = 'function f(a,b){return a.map(function(x){return x*b+1})}var q=f([1,2,3],4);';
  const py = readFileSync(join(ext.extensionPath, 'test/fixtures/workspace/inspect.py'), 'utf8');
  const files = {
    '1 MB single line': { name: 'big.min.txt', text: chunk.repeat(Math.ceil(1_048_576 / chunk.length)), at: 0.5 },
    '200k-token file': { name: 'long.py', text: py.repeat(1000), at: 0.9 },
  };
  const runs = Number(process.env.ATTN_BENCH_RUNS ?? 5);
  const stalls: Record<string, unknown> = {};
  const load0 = loadavg();
  // The engine is warmed up on a short file first, so the first analysis of each hostile file is timed on its own.
  await cfg.update('webviewTimeoutSeconds', 300, G);
  writeFileSync(join(dir, 'warm.py'), py);
  await api.inspector.analyze(await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, 'warm.py'))));
  for (const [label, f] of Object.entries(files)) {
    writeFileSync(join(dir, f.name), f.text);
    const ed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, f.name)));
    const off = Math.floor(f.text.length * f.at);
    ed.selection = new vscode.Selection(ed.document.positionAt(off), ed.document.positionAt(off));
    const tf = performance.now();
    await api.inspector.analyze(ed); // the file's first analysis (timed), then the measured runs
    const firstAnalysisMs = performance.now() - tf;
    const now: { maxMs: number; p99Ms: number; ms: number }[] = [];
    for (let i = 0; i < runs; i++) {
      now.push(await stallOf(async () => {
        await api.inspector.analyze(ed);
        await api.inspector.focusOffset(off);
      }));
    }
    const tokens = api.inspector.snapshot().session!.tokens;
    // As before the fix: the whole text read and the window (or the whole text) tokenized on this thread, the
    // analysis itself excluded. A synchronous call blocks the event loop for exactly its duration, so that is timed.
    const sync = (f: () => unknown) => {
      const t = performance.now();
      f();
      return performance.now() - t;
    };
    const inlineWindow: number[] = [];
    const inlineAll: number[] = [];
    for (let i = 0; i < runs; i++) {
      inlineWindow.push(sync(() => chooseWindow(ed.document.getText(), off, 2048, (s) => tok.encode(s))));
      if (i < 2) inlineAll.push(sync(() => tok.encode(ed.document.getText())));
      await sleep(20);
    }
    const allTokens = tok.encode(f.text).ids.length;
    stalls[label] = {
      chars: f.text.length,
      firstAnalysisMs,
      documentTokens: allTokens,
      analysedTokens: tokens,
      analysisAndPaint: { stallMedianMs: median(now.map((x) => x.maxMs)), stallMaxMs: Math.max(...now.map((x) => x.maxMs)), p99MedianMs: median(now.map((x) => x.p99Ms)), durationMedianMs: median(now.map((x) => x.ms)) },
      inlineWindowStallMedianMs: median(inlineWindow),
      inlineWholeTextStallMedianMs: median(inlineAll),
    };
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  }

  // 1,000 hovers in one second on a 2048-token analysis.
  writeFileSync(join(dir, 'hover.py'), py.repeat(12));
  const hed = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, 'hover.py')));
  await api.inspector.analyze(hed);
  const toks = api.inspector.tokens();
  const hoverRuns: number[] = [];
  for (let r = 0; r < 3; r++) {
    hoverRuns.push((await stallOf(async () => {
      const all: Promise<unknown>[] = [];
      for (let i = 0; i < 1000; i++) {
        all.push(api.inspector.focusOffset(toks[(i * 7919) % toks.length][0]));
        if (i % 10 === 9) await sleep(10);
      }
      await Promise.all(all);
    })).maxMs);
  }

  // Memory over 200 analyses of a 552-token text, each followed by one hover.
  writeFileSync(join(dir, 'mem.py'), py.repeat(2));
  const med = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(join(dir, 'mem.py')));
  const n = Number(process.env.ATTN_BENCH_ANALYSES ?? 200);
  for (let i = 0; i < 10; i++) {
    await api.inspector.analyze(med);
    await api.inspector.focusOffset(100 + i);
  }
  const host0 = heap();
  const web0 = await webviewHeap('before');
  const hostAt: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    await api.inspector.analyze(med);
    await api.inspector.focusOffset(50 + ((i * 37) % 3000));
    if ((i + 1) % 50 === 0) hostAt.push(heap());
  }
  const seconds = (performance.now() - t0) / 1000;
  const host1 = heap();
  const web1 = await webviewHeap('after');
  const memTokens = api.inspector.snapshot().session!.tokens;
  for (const k of ['backend', 'followCursor', 'webviewTimeoutSeconds']) await cfg.update(k, undefined, G);
  writeFileSync(
    process.env.ATTN_BENCH_RESULTS!,
    JSON.stringify(
      {
        loadAverage: { start: load0, end: loadavg() },
        stalls,
        hovers: { hovers: 1000, stallMaxMsPerRun: hoverRuns, stallMedianMs: median(hoverRuns) },
        memory: {
          analyses: n,
          tokens: memTokens,
          seconds,
          host: { beforeMB: host0 / 2 ** 20, afterMB: host1 / 2 ** 20, every50MB: hostAt.map((b) => b / 2 ** 20), growthPerAnalysisKB: (host1 - host0) / n / 1024 },
          webview: web0 === null || web1 === null ? null : { measured: heapSource, beforeMB: web0 / 2 ** 20, afterMB: web1 / 2 ** 20, growthPerAnalysisKB: (web1 - web0) / n / 1024 },
        },
      },
      null,
      2,
    ),
  );
}

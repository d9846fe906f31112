/**
 * Editor benchmark, run inside the real extension host (code-server) by bench/editor.mjs: how long an analysis takes
 * and how fast a hover is painted (host → panel → host → decorations), on a long real source file, and how much a
 * burst of a thousand hovers delays the extension host's event loop. wasm backend, so the numbers are the CPU path.
 */
import { writeFileSync, readFileSync, readdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as vscode from 'vscode';
import type { AttentionInspectorApi } from '../src/extension';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];

export async function run(): Promise<void> {
  try {
    await bench();
  } catch (e) {
    writeFileSync(process.env.ATTN_BENCH_RESULTS!, JSON.stringify({ error: String((e as Error)?.stack ?? e) }));
    throw e;
  }
}

async function bench(): Promise<void> {
  const ext = vscode.extensions.getExtension<AttentionInspectorApi>('attention-inspector.attention-inspector')!;
  const api = ext.isActive ? ext.exports : await ext.activate();
  const cfg = vscode.workspace.getConfiguration('attentionInspector');
  await cfg.update('backend', 'wasm', vscode.ConfigurationTarget.Global);
  await cfg.update('followCursor', false, vscode.ConfigurationTarget.Global);
  // A long real file: the extension's own host sources, concatenated (about 100 KB of TypeScript).
  const dir = join(ext.extensionPath, 'src');
  const files = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(d, e.name)) : e.name.endsWith('.ts') ? [join(d, e.name)] : []));
  const text = files(dir).map((f) => readFileSync(f, 'utf8')).join('\n');
  const path = join(mkdtempSync(join(tmpdir(), 'attn-bench-')), 'long.ts');
  writeFileSync(path, text);
  const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(path));
  const mid = editor.document.positionAt(Math.floor(text.length / 2));
  editor.selection = new vscode.Selection(mid, mid);
  const lengths = (process.env.ATTN_BENCH_TOKENS ?? '512,1024,2048').split(',').map(Number);
  const points = [];
  for (const maxTokens of lengths) {
    await cfg.update('maxTokens', maxTokens, vscode.ConfigurationTarget.Global);
    await api.inspector.analyze(editor); // warm-up: loads the engine
    const analysis: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await api.inspector.analyze(editor);
      analysis.push(performance.now() - t0);
    }
    const toks = api.inspector.tokens();
    const T = toks.length;
    const offsets = Array.from({ length: 40 }, (_, i) => toks[Math.floor(((i + 0.5) * T) / 40)][0]);
    const cases: { name: string; sel: unknown; view: string; dir: string }[] = [
      { name: 'A1 − λA2, mean of all heads and layers', sel: { layer: 'all', head: 'mean' }, view: 'model', dir: 'attendsTo' },
      { name: 'A1 − λA2, one head', sel: { layer: 2, head: 1 }, view: 'model', dir: 'attendsTo' },
      { name: 'softpick what-if, mean of all heads', sel: { layer: 'all', head: 'mean' }, view: 'whatIf:softpick', dir: 'attendsTo' },
      { name: 'attended by (column), layer 1 mean', sel: { layer: 1, head: 'mean' }, view: 'model', dir: 'attendedBy' },
    ];
    const hovers: Record<string, { medianMs: number; p95Ms: number }> = {};
    for (const c of cases) {
      await vscode.commands.executeCommand('attentionInspector.chooseHead', c.sel);
      await vscode.commands.executeCommand('attentionInspector.chooseView', c.view);
      await vscode.commands.executeCommand('attentionInspector.chooseDirection', c.dir);
      const ms: number[] = [];
      for (const [i, off] of offsets.entries()) {
        const t0 = performance.now();
        const w = await api.inspector.focusOffset(off);
        if (!w) throw new Error(`hover ${i} was not painted`);
        if (i >= 3) ms.push(performance.now() - t0);
      }
      hovers[c.name] = { medianMs: median(ms), p95Ms: pct(ms, 0.95) };
    }
    await vscode.commands.executeCommand('attentionInspector.chooseHead', { layer: 'all', head: 'mean' });
    await vscode.commands.executeCommand('attentionInspector.chooseView', 'model');
    await vscode.commands.executeCommand('attentionInspector.chooseDirection', 'attendsTo');
    // A thousand hovers in one second; the event loop's delay says whether the host ever stalls.
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const t0 = performance.now();
    const burst: Promise<unknown>[] = [];
    for (let i = 0; i < 1000; i++) {
      burst.push(api.inspector.focusOffset(toks[(i * 7919) % T][0]));
      if (i % 10 === 9) await new Promise((r) => setTimeout(r, 10));
    }
    const painted = (await Promise.all(burst)).filter(Boolean).length;
    const burstMs = performance.now() - t0;
    h.disable();
    points.push({
      maxTokens,
      tokens: T,
      analysisMedianMs: median(analysis),
      hovers,
      burst: { hovers: 1000, painted, totalMs: burstMs, eventLoopDelayP99Ms: h.percentile(99) / 1e6, eventLoopDelayMaxMs: h.max / 1e6 },
    });
  }
  for (const k of ['backend', 'followCursor', 'maxTokens']) await cfg.update(k, undefined, vscode.ConfigurationTarget.Global);
  writeFileSync(process.env.ATTN_BENCH_RESULTS!, JSON.stringify({ fileChars: text.length, points }, null, 2));
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Coalescer } from '../../src/core/coalescer';
import { LEVELS, MIN_FRACTION, levelAlpha, levelOf, maxAbsExcept, topIndices } from '../../src/core/colorScale';
import { rowsToCsv, rowsToJson, type RowsExport } from '../../src/core/exportFormats';
import { aggregate, groupOf, groupSpans, tokenAt } from '../../src/core/grouping';
import { measureSpanMass } from '../../src/core/measure';
import { parseToHost, parseToWebview, type PanelState, type RowsPayload } from '../../src/core/protocol';
import { surprisalFromLogits } from '../../src/core/surprisal';
import { chooseWindow, contextNote } from '../../src/core/textWindow';
import { TextTokenizer } from '../../src/core/tokenizer';
import { VIEWS, WHAT_IF_IDS, describeSelection, reduceRows, selectRow, selectedHeads } from '../../src/core/views';
import { hoverMarkdown } from '../../src/inspector/hoverCard';
import { WHAT_IF_VIEWS } from '../../webview/engine/kernels/whatIf.cpu';

const tok = new TextTokenizer(JSON.parse(readFileSync('media/models/twin-diff/tokenizer.json', 'utf8')));
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));

test('levels: sign follows the weight, strength the square root of |w| / max, tiny weights stay untinted', () => {
  assert.equal(levelOf(1, 1), LEVELS);
  assert.equal(levelOf(-1, 1), -LEVELS);
  assert.equal(levelOf(0.25, 1), Math.ceil(0.5 * LEVELS)); // sqrt(0.25) = 0.5
  assert.equal(levelOf(-0.25, 1), -Math.ceil(0.5 * LEVELS));
  assert.equal(levelOf(MIN_FRACTION / 2, 1), 0);
  assert.equal(levelOf(MIN_FRACTION * 1.01, 1), 1);
  assert.equal(levelOf(0.5, 0), 0);
  assert.equal(levelOf(NaN, 1), 0);
  for (let i = 1; i < 100; i++) assert.ok(levelOf(i / 100, 1) >= levelOf((i - 1) / 100, 1), 'monotone');
  assert.equal(maxAbsExcept([0.9, -0.5, 0.2], 0), 0.5);
  assert.deepEqual(topIndices([0.1, -0.5, 0, 0.5, 0.2], 3), [1, 3, 4]);
  assert.deepEqual(topIndices([0.1, -0.5, 0.3], 5, 1), [2, 0]);
  for (let l = 2; l <= LEVELS; l++) assert.ok(levelAlpha(l) > levelAlpha(l - 1));
});

test('package.json contributes a theme colour for every tint level, in every theme kind, and at most 16 decoration types', () => {
  const ids = new Map<string, Record<string, string>>(pkg.contributes.colors.map((c: { id: string; defaults: Record<string, string> }) => [c.id, c.defaults]));
  const needed = [...Array.from({ length: LEVELS }, (_, i) => [`attentionInspector.positive${i + 1}`, `attentionInspector.negative${i + 1}`]).flat(), 'attentionInspector.focusBorder', 'attentionInspector.overviewRuler'];
  assert.ok(needed.length <= 16);
  for (const id of needed) {
    const d = ids.get(id);
    assert.ok(d, `${id} is contributed`);
    for (const kind of ['dark', 'light', 'highContrast', 'highContrastLight']) assert.match(d[kind], /^#[0-9A-F]{6}([0-9A-F]{2})?$/i, `${id} ${kind}`);
  }
  // Dark and light defaults use the shared alpha steps.
  for (const kind of ['dark', 'light']) {
    for (let l = 1; l <= LEVELS; l++) assert.ok(Math.abs(parseInt(ids.get(`attentionInspector.positive${l}`)![kind].slice(7, 9), 16) - levelAlpha(l) * 255) <= 0.5, `${kind} level ${l}`);
  }
  // Stronger levels are more opaque in every theme kind.
  for (const kind of ['dark', 'light', 'highContrast', 'highContrastLight']) {
    for (const sign of ['positive', 'negative']) {
      const alphas = Array.from({ length: LEVELS }, (_, i) => parseInt(ids.get(`attentionInspector.${sign}${i + 1}`)![kind].slice(7, 9) || 'FF', 16));
      for (let i = 1; i < LEVELS; i++) assert.ok(alphas[i] >= alphas[i - 1], `${sign} ${kind} level ${i + 1}`);
    }
  }
});

test('package.json: every command has the category, every keybinding and menu entry names a declared command', () => {
  const cmds = new Set<string>(pkg.contributes.commands.map((c: { command: string; category: string }) => {
    assert.equal(c.category, 'Attention Inspector');
    return c.command;
  }));
  for (const id of ['analyzeDocument', 'analyzeSelection', 'toggleFollowCursor', 'chooseHead', 'chooseView', 'chooseDirection', 'compareWithTwin', 'chooseModel', 'measureSelection', 'export', 'clear']) {
    assert.ok(cmds.has(`attentionInspector.${id}`), id);
  }
  for (const k of pkg.contributes.keybindings) assert.ok(cmds.has(k.command), k.command);
  for (const list of Object.values(pkg.contributes.menus) as { command: string }[][]) for (const m of list) assert.ok(cmds.has(m.command), m.command);
  assert.ok(pkg.contributes.menus['editor/context'].some((m: { command: string }) => m.command === 'attentionInspector.analyzeDocument'));
});

test('word groups keep words whole, line groups follow lines, and sums are per group', () => {
  const text = 'def softmax(xs):\n    return [e / total for e in exps]\n\nprint(softmax_value)\n';
  const { spans } = tok.encode(text);
  const words = groupSpans(text, spans, 'word');
  const wordTexts = words.map((g) => text.slice(g.start, g.end).trim());
  for (const w of ['softmax', 'total', 'exps', 'softmax_value']) assert.ok(wordTexts.includes(w), `${w} in ${JSON.stringify(wordTexts)}`);
  assert.equal(words[0].first, 0);
  for (let i = 1; i < words.length; i++) assert.equal(words[i].first, words[i - 1].last, 'groups tile the tokens');
  assert.equal(words.at(-1)!.last, spans.length);
  const lines = groupSpans(text, spans, 'line');
  const lineOf = (g: { start: number; end: number }) => text.slice(0, text.slice(g.start, g.end).search(/[^\n]/) + g.start).split('\n').length - 1;
  assert.deepEqual(lines.map(lineOf), [0, 1, 3], 'one group per non-empty line');
  const w = Float32Array.from(spans, (_, i) => i + 1);
  const sums = aggregate(w, lines);
  assert.equal(sums.reduce((a, b) => a + b, 0), (spans.length * (spans.length + 1)) / 2);
  const t = spans.findIndex((s) => text.slice(s.start, s.end).includes('total'));
  assert.equal(groupOf(lines, t), 1);
  assert.equal(groupSpans(text, spans, 'token').length, spans.length);
});

test('tokenAt finds the token that holds a character, also inside emoji split across tokens', () => {
  const text = 'a \u{1FAE5} b 👨‍👩‍👧 c';
  const { spans } = tok.encode(text);
  for (let off = 0; off < text.length; off++) {
    const t = tokenAt(spans, off);
    assert.ok(spans[t].start <= off && off < spans[t].end, `offset ${off} lies in token ${t} [${spans[t].start}, ${spans[t].end})`);
  }
});

test('long text is analyzed in a window of at most maxTokens around the cursor, never splitting a surrogate pair', () => {
  const line = 'x = compute(alpha, beta) # 🫥 note\n';
  const text = line.repeat(4000);
  const cursor = Math.floor(text.length / 2) + 3;
  const w = chooseWindow(text, cursor, 300, (s) => tok.encode(s));
  assert.ok(w.partial);
  assert.ok(w.encoded.ids.length <= 300 && w.encoded.ids.length > 200, `${w.encoded.ids.length} tokens`);
  assert.ok(w.start <= cursor && cursor <= w.end, 'the window holds the cursor');
  assert.ok(cursor - w.start > w.end - cursor, 'more context before the cursor than after');
  for (const o of [w.start, w.end]) assert.ok(!/[\uDC00-\uDFFF]/.test(text[o] ?? ''), 'no split surrogate pair');
  assert.deepEqual(w.encoded.ids, tok.encode(text.slice(w.start, w.end)).ids, 'the ids are those of exactly the window text');
  const short = chooseWindow('print(1)\n', 3, 300, (s) => tok.encode(s));
  assert.deepEqual([short.start, short.end, short.partial], [0, 9, false]);
  const oneLine = 'a,'.repeat(300_000);
  const big = chooseWindow(oneLine, 123_457, 128, (s) => tok.encode(s));
  assert.ok(big.encoded.ids.length <= 128 && big.start <= 123_457 && 123_457 <= big.end);
});

test('measured masses: selection, first token and rest, each row divided by its sum, averaged over rows', () => {
  // 1 layer, 2 heads, T = 4, query 3. Softmax-like head and a DIFF-like head whose row sums to 0.5.
  const r: RowsPayload = { query: 3, layers: 1, heads: 2, tokens: 4, a: Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.3, -0.1, 0.2, 0.1]) };
  const m = measureSpanMass(r, 3, [1, 3]);
  assert.ok(Math.abs(m.selection - (0.5 + 0.2) / 2) < 1e-6);
  assert.ok(Math.abs(m.firstToken - (0.1 + 0.6) / 2) < 1e-6);
  assert.ok(Math.abs(m.rest - (0.4 + 0.2) / 2) < 1e-6);
  assert.equal(m.rows, 2);
  assert.ok(Math.abs(measureSpanMass(r, 3, [0, 2]).selection - (0.2 + -0.2) / 2) < 1e-6, 'token 0 counts as the first token, not the span');
  assert.throws(() => measureSpanMass({ ...r, query: 1 }, 1, [2, 3]), /causal attention cannot look forward/);
  assert.throws(() => measureSpanMass(r, 2, [1, 2]), /rows are for query 3/);
});

test('surprisal is −log p of each token given the ones before, in nats', () => {
  const logits = Float32Array.from([0, 0, Math.log(3), 0, 0, 0]); // V = 2, T = 3
  const s = surprisalFromLogits(logits, [1, 0, 1], 2);
  assert.ok(Number.isNaN(s[0]));
  assert.ok(Math.abs(s[1] - Math.log(2)) < 1e-6);
  assert.ok(Math.abs(s[2] - Math.log(4)) < 1e-6); // p(1) = 1 / (3 + 1)
});

test('views: ids match the what-if kernel order; selections reduce by mean or signed max |a|', () => {
  assert.deepEqual([...WHAT_IF_IDS], WHAT_IF_VIEWS.map((v) => v.id));
  assert.equal(VIEWS.filter((v) => v.whatIf).length, 7);
  const data = Float32Array.from([1, -2, 3, -4, 5, 6, 0.5, 1, 1, 1, 1, 1]); // layers 2, heads 2, T 3
  assert.deepEqual([...selectRow(data, 2, 2, 3, { layer: 0, head: 1 })], [-4, 5, 6]);
  assert.deepEqual([...selectRow(data, 2, 2, 3, { layer: 0, head: 'mean' })], [-1.5, 1.5, 4.5]);
  assert.deepEqual([...selectRow(data, 2, 2, 3, { layer: 0, head: 'maxAbs' })], [-4, 5, 6]);
  assert.deepEqual([...reduceRows([[1, -3], [-2, 2]], 'maxAbs')], [-2, -3]);
  assert.equal(selectedHeads({ layer: 'all', head: 'mean' }, 4, 2).length, 8);
  assert.throws(() => selectedHeads({ layer: 5, head: 0 }, 4, 2), /layer 5 is outside 0\.\.3/);
  assert.equal(describeSelection({ layer: 'all', head: 'maxAbs' }), 'all layers · max |a| over heads');
});

const exportCase = (): RowsExport => ({
  model: 'twin-diff',
  source: 'file:///x.py',
  query: { index: 2, text: 'c' },
  lambdas: [0.5],
  tokens: [{ index: 0, text: 'a,"b"', start: 0, end: 5 }, { index: 1, text: '\n', start: 5, end: 6 }, { index: 2, text: 'c', start: 6, end: 7 }],
  rows: { query: 2, layers: 1, heads: 1, tokens: 3, a: Float32Array.from([0.25, 0.5, 0.25]), a1: Float32Array.from([0.5, 0.5, 0.5]), a2: Float32Array.from([0.5, 0, 0.5]) },
});

test('CSV export quotes cells with commas, quotes and line breaks, and carries a1 and λ·a2', () => {
  const csv = rowsToCsv(exportCase());
  assert.equal(csv, 'model,layer,head,query,key,key_text,a,a1,lambda_a2,lambda\ntwin-diff,0,0,2,0,"a,""b""",0.25,0.5,0.25,0.5\ntwin-diff,0,0,2,1,"\n",0.5,0.5,0,0.5\ntwin-diff,0,0,2,2,c,0.25,0.5,0.25,0.5\n');
  const j = JSON.parse(rowsToJson(exportCase()));
  assert.equal(j.format, 'attention-inspector.rows/1');
  assert.deepEqual(j.layers[0].heads[0].a, [0.25, 0.5, 0.25]);
  assert.equal(j.tokens.length, 3);
});

test('the coalescer runs at most one job and keeps only the newest waiting one', async () => {
  const c = new Coalescer();
  let runs = 0;
  const job = (i: number) => async () => {
    runs++;
    await new Promise((r) => setTimeout(r, 5));
    return i;
  };
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => c.run(job(i))));
  assert.equal(runs, 2);
  assert.equal(results[0], 0);
  assert.equal(results[999], 999);
  assert.equal(results.filter((r) => r !== undefined).length, 2);
  await assert.rejects(c.run(async () => { throw new Error('boom'); }), /boom/);
});

test('the hover card lists the strongest tokens with A1, λ·A2, λ and the twin, and escapes Markdown in token text', () => {
  const md = hoverMarkdown({
    model: 'twin-diff',
    token: { index: 2, label: 'x|y' },
    where: 'layer 1 · head 0',
    viewLabel: 'A1 − λ·A2',
    direction: 'attendsTo',
    weights: Float32Array.from([0.1, -0.4, 0.2]),
    labels: ['a', 'b|c', 'x|y'],
    a1: Float32Array.from([0.2, 0.1, 0.3]),
    lambdaA2: Float32Array.from([0.1, 0.5, 0.1]),
    lambdas: [0.43],
    twin: { model: 'twin-softmax', where: 'layer 1 · mean over heads', weights: Float32Array.from([0.3, 0.3, 0.4]) },
  });
  assert.match(md, /\| # \| token \| weight \| A1 \| λ·A2 \| twin-softmax \|/);
  assert.match(md, /λ = 0\.430/);
  const rows = md.split('\n').filter((l) => /^\| \d/.test(l));
  assert.deepEqual(rows.map((r) => r.split(' | ')[0]), ['| 1', '| 2', '| 0'], 'strongest |w| first');
  assert.ok(rows[0].includes('-0.400') && rows[0].includes('0.500'));
  for (const r of rows) assert.equal(r.split(/(?<!\\)\|/).length, 8, `pipes in token text are escaped: ${r}`);
});

test('protocol: the panel state, head clicks and PNG exports are validated', () => {
  const state: PanelState = { source: 'a.py, lines 1–3 of 3', contextNote: null, models: ['twin-diff'], labels: ['a', 'b'], layer: 'all', head: 'mean', viewLabel: 'A', direction: 'attendsTo', focus: 1, measure: null };
  assert.equal(parseToWebview({ method: 'view/update', state }).ok, true);
  assert.deepEqual(parseToWebview({ method: 'view/update', state: { ...state, head: 'max' } }), { ok: false, method: 'view/update', reason: 'state.head must be a head index, "mean" or "maxAbs"' });
  assert.equal(parseToWebview({ method: 'view/update', state: { ...state, measure: { query: 1, span: [0, 1], results: [{ model: 'twin-diff', selection: 0.1, firstToken: 0.2, rest: 0.7 }] } } }).ok, true);
  const { labels: _unchanged, ...withoutLabels } = state;
  assert.equal(parseToWebview({ method: 'view/update', state: withoutLabels }).ok, true, 'labels are left out while unchanged');
  assert.equal(parseToWebview({ method: 'view/update', state: { ...state, labels: [1, 2] } }).ok, false);
  assert.equal(parseToWebview({ method: 'view/update', state: { ...state, contextNote: contextNote('twin-diff', 256, 2048) } }).ok, true);
  assert.equal(parseToWebview({ method: 'view/update', state: { ...state, contextNote: 3 } }).ok, false);
  assert.equal(contextNote('twin-diff', 256, 2048), 'twin-diff was trained on windows of 256 tokens; this window has 2,048. Attention over distances beyond 256 tokens is the model extrapolating, not something it learned: set attentionInspector.maxTokens to 256 for a window it knows.');
  assert.equal(parseToWebview({ method: 'analysis/rows', id: 1, query: 2 }).ok, false, 'rows name their model');
  assert.equal(parseToWebview({ method: 'analysis/query', id: 1, model: 'twin-diff', query: { kind: 'surprisal' } }).ok, true);
  assert.equal(parseToHost({ method: 'ui/selectHead', layer: 1, head: 0 }).ok, true);
  assert.equal(parseToHost({ method: 'ui/selectHead', layer: -1, head: 0 }).ok, false);
  assert.equal(parseToHost({ method: 'export/png/done', id: 3, ok: true, result: { dataUrl: 'data:image/png;base64,AAAA', width: 2, height: 2 } }).ok, true);
  assert.equal(parseToHost({ method: 'export/png/done', id: 3, ok: true, result: { dataUrl: 'javascript:x', width: 2, height: 2 } }).ok, false);
});

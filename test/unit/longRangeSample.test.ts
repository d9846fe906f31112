// The long-range sample (samples/long_range.py, what `npm start` opens) shows what it claims: at the end of the file,
// each shipped twin predicts at least two of the three answers from facts stated once near the top (top-1, through
// the engine on the shipped packages; they differ on which), and on an answered question one of its heads puts most
// of a row's weight on the fact's value (rows divided by their sum, as Measure Attention To Selection does).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseManifest } from '../../src/core/manifest';
import { TextTokenizer } from '../../src/core/tokenizer';
import { AttentionEngine } from '../../webview/engine/engine';

ort.env.wasm.numThreads = 1;

const text = readFileSync('samples/long_range.py', 'utf8');
/** Question → answer, as the sample states them near the top and asks them at the end. */
const ANSWERS: [string, string][] = [
  ['Answer:', ' 4817'],
  ['It is', ' 55203'],
  ['A:', ' Port Ellery'],
];

for (const pkg of ['twin-diff', 'twin-softmax']) {
  test(`${pkg} on samples/long_range.py: at least two of the three answers are the top-1 prediction after their question, and for one of them a head puts more than 0.3 of its row on the fact's value stated far above`, async () => {
    const parsed = parseManifest(JSON.parse(readFileSync(`media/models/${pkg}/manifest.json`, 'utf8')));
    assert.ok(parsed.ok);
    const m = parsed.manifest;
    const tok = new TextTokenizer(JSON.parse(readFileSync(`media/models/${pkg}/tokenizer.json`, 'utf8')));
    const { ids, spans } = tok.encode(text);
    const engine = await AttentionEngine.create(ort, m, readFileSync(`media/models/${pkg}/model.onnx`), 'wasm');
    const seen: string[] = [];
    let answered = 0;
    let strongest = 0;
    try {
      const a = await engine.analyze(ids);
      const logits = await a.logits();
      const tail = text.lastIndexOf('Question:');
      for (const [cue, answer] of ANSWERS) {
        const at = text.indexOf(cue + answer, tail);
        assert.ok(at > 0, `the sample asks "${cue}${answer}"`);
        // The query is the last token of the cue; the answer's first token follows it.
        const q = spans.findIndex((s) => s.end === at + cue.length);
        assert.ok(q > 0 && spans[q + 1].start === at + cue.length, `the cue "${cue}" ends on a token boundary`);
        let top = 0;
        for (let v = 1; v < m.vocabSize; v++) if (logits[q * m.vocabSize + v] > logits[q * m.vocabSize + top]) top = v;
        // The fact's value near the top: the best head's share of its row (divided by the row's sum) on its tokens.
        const factAt = text.indexOf(answer);
        assert.ok(factAt < tail);
        const valueTokens = spans.flatMap((s, i) => (s.start < factAt + answer.length && s.end > factAt ? [i] : []));
        let best = 0;
        for (const layer of (await a.rows(q)).layers) for (const h of layer.heads) {
          const sum = h.a.slice(0, q + 1).reduce((x, y) => x + y, 0);
          best = Math.max(best, valueTokens.reduce((x, t) => x + h.a[t], 0) / sum);
        }
        const right = top === ids[q + 1];
        if (right) {
          answered++;
          strongest = Math.max(strongest, best);
        }
        seen.push(`"${cue}${answer}": ${right ? 'answered' : `predicted id ${top}, not ${ids[q + 1]}`}, best head ${best.toFixed(3)} on the value`);
      }
    } finally {
      await engine.release();
    }
    console.log(`${pkg}: ${seen.join('; ')}`);
    assert.ok(answered >= 2, `${pkg}: ${seen.join('; ')}`);
    assert.ok(strongest > 0.3, `${pkg}: ${seen.join('; ')}`);
  });
}

// Tokenizes in a worker thread: a long document's window (or a whole text given to the API) takes from tens of
// milliseconds to seconds of CPU, which must not stall the extension host (every extension's hovers, completions and
// commands run on its thread). Node only, no `vscode`. One worker serves every request, in order; tokenizers are
// loaded once per tokenizer.json.
import { readFileSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { chooseWindow } from '../core/textWindow';
import { TextTokenizer } from '../core/tokenizer';
import type { TokenizeReply, TokenizeRequest } from './tokenizeClient';

const tokenizers = new Map<string, TextTokenizer>();
function tokenizer(path: string): TextTokenizer {
  let t = tokenizers.get(path);
  if (!t) tokenizers.set(path, (t = new TextTokenizer(JSON.parse(readFileSync(path, 'utf8')))));
  return t;
}

parentPort!.on('message', (req: TokenizeRequest) => {
  let reply: TokenizeReply;
  try {
    const tok = tokenizer(req.tokenizerPath);
    if (req.kind === 'window') {
      const w = chooseWindow(req.text, req.cursor, req.maxTokens, (s) => tok.encode(s));
      reply = { id: req.id, ok: true, start: w.start, end: w.end, partial: w.partial, count: w.encoded.ids.length, ids: w.encoded.ids, spans: w.encoded.spans };
    } else {
      const e = tok.encode(req.text);
      const over = e.ids.length > (req.limit ?? Infinity);
      reply = { id: req.id, ok: true, start: 0, end: req.text.length, partial: false, count: e.ids.length, ids: over ? [] : e.ids, spans: over ? [] : e.spans };
    }
  } catch (e) {
    reply = { id: req.id, ok: false, error: e instanceof Error ? e.message : String(e) };
  }
  parentPort!.postMessage(reply);
});

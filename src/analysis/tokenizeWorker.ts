// Tokenizes in a worker thread: a long document's window (or a whole text given to the API) takes from tens of
// milliseconds to seconds of CPU, which must not stall the extension host (every extension's hovers, completions and
// commands run on its thread). Node only, no `vscode`. One worker serves every request, in order; tokenizers are
// loaded once per tokenizer.json.
import { readFile, realpath } from 'node:fs/promises';
import { parentPort } from 'node:worker_threads';
import { JSON_LIMITS, readConfined } from '../model/safeFiles';
import { chooseWindow } from '../core/textWindow';
import { TextTokenizer } from '../core/tokenizer';
import type { TokenizeReply, TokenizeRequest } from './tokenizeClient';

const tokenizers = new Map<string, Promise<TextTokenizer>>();
/**
 * A user's package is read confined to its folder (`confineTo`), as when it was opened: a tokenizer.json swapped for
 * a link after the check is refused, not followed. The bundled models' shared tokenizer ships with the extension.
 */
function tokenizer(path: string, confineTo: string | undefined): Promise<TextTokenizer> {
  const key = `${confineTo ?? ''}\0${path}`;
  let t = tokenizers.get(key);
  if (!t) {
    t = (async () => {
      const text = confineTo
        ? (await readConfined(await realpath(confineTo), path, 'tokenizer.json', JSON_LIMITS.tokenizer)).toString('utf8')
        : await readFile(path, 'utf8');
      return new TextTokenizer(JSON.parse(text));
    })();
    t.catch(() => tokenizers.delete(key));
    tokenizers.set(key, t);
  }
  return t;
}

parentPort!.on('message', async (req: TokenizeRequest) => {
  let reply: TokenizeReply;
  try {
    const tok = await tokenizer(req.tokenizerPath, req.confineTo);
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

import { MANIFEST_LIMITS } from '../core/manifest';
import { PackageError } from './packageError';

/**
 * The shape of an HF tokenizer.json, checked before the tokenizer library sees it, so a malformed file gets a message
 * that names the field (not "merges.map is not a function"), and ids are bounded before anything is sized by them.
 * Returns the vocabulary size the ids imply (largest id + 1) and the number of vocabulary entries.
 */
export function checkTokenizerJson(json: unknown, file: string): { idSpan: number; entries: number } {
  const fail = (what: string): never => {
    throw new PackageError([`${file}: ${what}; expected a Hugging Face tokenizer.json (byte-level BPE, as GPT-2, Llama 3 and Qwen use)`]);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) fail(`holds ${Array.isArray(json) ? 'a list' : typeof json === 'object' ? 'null' : `a ${typeof json}`}, not an object`);
  const j = json as { model?: unknown; added_tokens?: unknown };
  if (!j.model || typeof j.model !== 'object' || Array.isArray(j.model)) fail('has no "model" object');
  const model = j.model as { vocab?: unknown; merges?: unknown };
  if (!model.vocab || typeof model.vocab !== 'object' || Array.isArray(model.vocab)) fail('model.vocab is missing or not an object of token → id');
  if (model.merges !== undefined && !Array.isArray(model.merges)) fail('model.merges is not a list');
  const limit = MANIFEST_LIMITS.vocabSize;
  let idSpan = 0;
  let entries = 0;
  const checkId = (id: unknown, where: string) => {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= limit) {
      fail(`${where} holds the id ${typeof id === 'number' ? id : typeof id}; an id is a whole number from 0 to ${limit - 1}`);
    }
    if ((id as number) + 1 > idSpan) idSpan = (id as number) + 1;
  };
  for (const k in model.vocab as Record<string, unknown>) {
    checkId((model.vocab as Record<string, unknown>)[k], `model.vocab (entry ${entries + 1})`);
    entries++;
  }
  if (entries === 0) fail('model.vocab is empty');
  const merges = (model.merges ?? []) as unknown[];
  for (let i = 0; i < merges.length; i++) {
    const m = merges[i];
    const ok = typeof m === 'string' || (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string');
    if (!ok) fail(`model.merges entry ${i + 1} is neither "a b" nor ["a", "b"]`);
  }
  if (j.added_tokens !== undefined) {
    if (!Array.isArray(j.added_tokens)) fail('added_tokens is not a list');
    (j.added_tokens as unknown[]).forEach((t, i) => {
      if (!t || typeof t !== 'object' || typeof (t as { content?: unknown }).content !== 'string') fail(`added_tokens entry ${i + 1} has no text "content"`);
      checkId((t as { id?: unknown }).id, `added_tokens entry ${i + 1}`);
    });
  }
  return { idSpan, entries };
}

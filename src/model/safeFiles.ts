/**
 * Reading the files of a model folder the user chose, and nothing else. Every file is resolved through its symbolic
 * links (the file's own and its folders', e.g. an `onnx/` folder that is a link) and refused unless it stays inside
 * the chosen folder and is a regular file; it is read through one file handle opened without following a link, with
 * its size checked against a limit before a byte is read. Refusals name the file and say what to do; they never
 * contain the file's contents (a JSON syntax error gives a line and column, not the text around it).
 */
import { constants } from 'node:fs';
import { lstat, open, realpath } from 'node:fs/promises';
import * as path from 'node:path';
import { PackageError } from './packageError';

/** Limits on the JSON files of a model folder (the ONNX file's limit is the setting attentionInspector.maxModelSizeMB). */
export const JSON_LIMITS = {
  /** manifest.json: a few kB in practice. */
  manifest: 4 * 2 ** 20,
  /** config.json: a few kB in practice. */
  config: 4 * 2 ** 20,
  /** tokenizer.json: 2 MB for GPT-2, 7 MB for Qwen2's 151,643 entries, 33 MB for Gemma 3's 262,144. */
  tokenizer: 128 * 2 ** 20,
} as const;

const mbText = (n: number) => `${+(n / 2 ** 20).toFixed(1)} MB`;

/**
 * The real path of `file` when it exists inside `realRoot` (itself a real path); a PackageError otherwise.
 * `what` names the file in messages (e.g. 'tokenizer.json'); `field` is the manifest field that named it, if any.
 */
export async function confinedPath(realRoot: string, file: string, what: string, field?: string): Promise<string> {
  const by = field ? ` (manifest.json field ${field})` : '';
  let real: string;
  try {
    real = await realpath(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    let dangling = false;
    try {
      dangling = (await lstat(file)).isSymbolicLink();
    } catch {
      /* not there at all */
    }
    if (dangling) throw new PackageError([`${file}: a symbolic link to a file that does not exist${by}; put the file itself in the model folder`]);
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new PackageError([`${file}: file missing${by}`]);
    throw new PackageError([`${file}: ${what} cannot be read (${code ?? 'error'})${by}`]);
  }
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(path.sep) ? realRoot : realRoot + path.sep)) {
    throw new PackageError([
      `${file}: leads outside the model folder (a symbolic link, to ${real})${by}; nothing outside the folder you chose is read. Copy the file itself into the folder (cp -L follows links; a Hugging Face cache snapshot is made of such links)`,
    ]);
  }
  return real;
}

/**
 * Reads a file of the model folder: confined to `realRoot`, a regular file (not a FIFO or a device), at most
 * `maxBytes`, read through the handle that was checked (so the checked file is the file read).
 */
export async function readConfined(realRoot: string, file: string, what: string, maxBytes: number, opts: { field?: string; limitHelp?: string } = {}): Promise<Buffer> {
  const real = await confinedPath(realRoot, file, what, opts.field);
  let fh;
  try {
    // O_NOFOLLOW: a link put in place of the checked file after the check is refused, not followed.
    // O_NONBLOCK: a FIFO does not block the open (it is then refused as not a regular file).
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw new PackageError([`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new PackageError([`${file}: not a regular file (a folder, a device or a pipe); a model folder holds plain files`]);
    if (st.size > maxBytes) {
      throw new PackageError([`${file}: ${mbText(st.size)} is over the limit of ${mbText(maxBytes)} for ${what}${opts.limitHelp ?? ''}`]);
    }
    const buf = Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const { bytesRead } = await fh.read(buf, off, st.size - off, off);
      if (bytesRead === 0) break;
      off += bytesRead;
    }
    if (off !== st.size) throw new PackageError([`${file}: changed while it was read (${off} of ${st.size} bytes); open the model again`]);
    return buf;
  } finally {
    await fh.close();
  }
}

/** Parses JSON; a syntax error names the file and where it is, never the text (which may be anything). */
export function parseJsonFile(bytes: Buffer, file: string, what: string): unknown {
  if (bytes.length === 0) throw new PackageError([`${file}: the file is empty (0 bytes); expected ${what}`]);
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    void e; // V8's message quotes the text around the error: never shown
    const pos = jsonErrorOffset(text);
    let where = '';
    if (pos >= text.length) where = ' (it ends early: truncated?)';
    else if (pos >= 0) {
      let line = 1;
      let lineStart = 0;
      for (let i = 0; i < pos; i++) if (text.charCodeAt(i) === 10) (line++, (lineStart = i + 1));
      where = ` at line ${line}, column ${pos - lineStart + 1}`;
    }
    throw new PackageError([`${file}: not valid JSON${where}; expected ${what}`]);
  }
}

/**
 * The offset of the first JSON syntax error in `s` (s.length when it ends early, -1 when none is found): a small
 * scanner run only after JSON.parse failed, so the message can say where without quoting the text.
 */
export function jsonErrorOffset(s: string): number {
  let i = 0;
  const n = s.length;
  const ws = () => {
    while (i < n && (s[i] === ' ' || s[i] === '\n' || s[i] === '\r' || s[i] === '\t')) i++;
  };
  const str = (): boolean => {
    i++;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 34) return (i++, true);
      if (c < 32) return false;
      if (c === 92) {
        const e = s[i + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(s.slice(i + 2, i + 6))) return ((i += 2), false);
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return ((i += 1), false);
      } else i++;
    }
    return false;
  };
  const keyColon = (): boolean => {
    ws();
    if (s[i] !== '"' || !str()) return false;
    ws();
    if (s[i] !== ':') return false;
    i++;
    return true;
  };
  const scalar = (): boolean => {
    if (s[i] === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(s.slice(i, i + 400));
    if (m && m[0]) return ((i += m[0].length), true);
    for (const w of ['true', 'false', 'null']) if (s.startsWith(w, i)) return ((i += w.length), true);
    return false;
  };
  const fail = () => (i >= n ? n : i);
  // Iterative, with an explicit stack: a file of a million '[' must not overflow the call stack.
  const stack: string[] = [];
  let expectValue = true;
  for (;;) {
    ws();
    if (expectValue) {
      if (i >= n) return n;
      const c = s[i];
      if (c === '{' || c === '[') {
        i++;
        ws();
        if (s[i] === (c === '{' ? '}' : ']')) {
          i++;
          expectValue = false;
          continue;
        }
        stack.push(c === '{' ? '}' : ']');
        if (c === '{' && !keyColon()) return fail();
        continue;
      }
      if (!scalar()) return fail();
      expectValue = false;
      continue;
    }
    if (!stack.length) return i < n ? i : -1;
    if (i >= n) return n;
    const close = stack[stack.length - 1];
    if (s[i] === close) {
      stack.pop();
      i++;
      continue;
    }
    if (s[i] !== ',') return i;
    i++;
    if (close === '}' && !keyColon()) return fail();
    expectValue = true;
  }
}

/** Reads and parses a JSON file of the model folder (confined, bounded, messages without contents). */
export async function readJsonConfined(realRoot: string, file: string, what: string, maxBytes: number, field?: string): Promise<{ json: unknown; bytes: Buffer }> {
  const bytes = await readConfined(realRoot, file, what, maxBytes, { field });
  return { json: parseJsonFile(bytes, file, what), bytes };
}

/**
 * Opens a folder the user points at as a model: a model package (manifest.json, DESIGN.md §4) is validated as it is;
 * an ONNX language model folder without our manifest (transformers.js layout: onnx/model.onnx, tokenizer.json,
 * config.json) is rewritten to expose its attention and cached, so the next open is instant.
 * Node only (no `vscode`), so the unit tests run it as the extension does.
 */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MANIFEST_LIMITS, describeValue, parseManifest } from '../core/manifest';
import { readHfConfig, rewriteForInspection } from '../core/onnx/attentionRewrite';
import { TextTokenizer } from '../core/tokenizer';
import { PackageError, sizeProblem, validatePackage, type ModelPackage } from './packageValidator';
import { JSON_LIMITS, confinedPath, readConfined, readJsonConfined } from './safeFiles';
import { checkTokenizerJson } from './tokenizerCheck';

/** Bump when the rewriter's output changes, so cached rewrites are redone. */
const REWRITER_VERSION = 1;

export interface PreparedModel {
  /** Stable id for the model: its name plus a hash of its folder. */
  id: string;
  /** The folder the user chose. */
  source: string;
  pkg: ModelPackage;
  /** True when the graph was rewritten (the package lives in the cache). */
  rewritten: boolean;
  notes: string[];
}

export interface OpenOptions {
  /** Where rewritten models are cached (the extension's global storage). */
  cacheRoot: string;
  /** Largest ONNX file accepted, in bytes. */
  maxBytes: number;
  /** The setting that sets the limit, named in the refusal. */
  limitSetting: string;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Whether something is at `p`, a symbolic link included (even one that leads nowhere: it is then refused, not ignored). */
async function present(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 60) || 'model';
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** The ONNX file of a manifest-less folder: onnx/model.onnx, model.onnx, or the only .onnx file in either place. */
async function findOnnx(folder: string): Promise<string | undefined> {
  for (const c of ['onnx/model.onnx', 'model.onnx']) if (await present(path.join(folder, c))) return path.join(folder, c);
  for (const dir of ['onnx', '.']) {
    let names: string[];
    try {
      names = (await readdir(path.join(folder, dir))).filter((n) => n.endsWith('.onnx'));
    } catch {
      continue;
    }
    if (names.length === 1) return path.join(folder, dir, names[0]);
    if (names.length > 1) {
      const shown = names.slice(0, 5).map((n) => (n.length > 60 ? `${n.slice(0, 57)}…` : n));
      throw new PackageError([`${path.join(folder, dir)}: holds ${names.length} .onnx files (${shown.join(', ')}${names.length > 5 ? ', …' : ''}); keep one, or name it model.onnx`]);
    }
  }
  return undefined;
}

/** The config.json fields the rewriter reads, and their bounds (MANIFEST_LIMITS): checked before any is used. */
const CONFIG_FIELDS: [string[], number, string][] = [
  [['num_attention_heads', 'n_head', 'n_heads', 'num_key_value_heads', 'n_kv_head'], MANIFEST_LIMITS.heads, 'attention heads'],
  [['hidden_size', 'n_embd', 'd_model'], MANIFEST_LIMITS.dModel, 'the model width'],
  [['head_dim'], MANIFEST_LIMITS.headDim, 'the width of one head'],
  [['num_hidden_layers', 'n_layer', 'n_layers'], MANIFEST_LIMITS.layers, 'layers'],
  [['vocab_size'], MANIFEST_LIMITS.vocabSize, 'the vocabulary size'],
  [['max_position_embeddings', 'n_positions', 'n_ctx', 'block_size'], Number.MAX_SAFE_INTEGER, 'the longest input'],
];

function checkHfConfig(json: unknown, file: string): void {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new PackageError([`${file}: holds ${describeValue(json)}, not an object; expected a Hugging Face config.json`]);
  const c = json as Record<string, unknown>;
  const problems: string[] = [];
  for (const [keys, max, meaning] of CONFIG_FIELDS) {
    for (const k of keys) {
      const v = c[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) problems.push(`${file}: ${k} is ${describeValue(v)}; expected a whole number ≥ 1 (${meaning})`);
      else if (v > max) problems.push(`${file}: ${k} is ${v}, over the limit of ${max} (${meaning}); no model the inspector can run is that large`);
    }
  }
  if (problems.length) throw new PackageError(problems);
}

export async function openModelFolder(folder: string, o: OpenOptions): Promise<PreparedModel> {
  let real: string;
  try {
    real = await realpath(folder);
    if (!(await stat(real)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new PackageError([`${folder}: not a folder (choose the folder that holds the model)`]);
  }
  if (await present(path.join(real, 'manifest.json'))) {
    const pkg = await validatePackage(real, { maxBytes: o.maxBytes, limitSetting: o.limitSetting });
    return { id: `${slug(pkg.manifest.name)}-${hash(real)}`, source: real, pkg, rewritten: false, notes: pkg.notes ?? [] };
  }
  const onnxPath = await findOnnx(real);
  if (!onnxPath) {
    throw new PackageError([
      `${real}: no manifest.json and no .onnx file. A model folder is either a model package (manifest.json, model.onnx, tokenizer.json) or an ONNX language model folder (onnx/model.onnx, tokenizer.json, config.json)`,
    ]);
  }
  const tokenizerPath = [path.join(real, 'tokenizer.json'), path.join(path.dirname(onnxPath), 'tokenizer.json')];
  const tokPath = (await present(tokenizerPath[0])) ? tokenizerPath[0] : (await present(tokenizerPath[1])) ? tokenizerPath[1] : undefined;
  if (!tokPath) throw new PackageError([`${real}: tokenizer.json missing (the Hugging Face tokenizer file of the model belongs beside it)`]);
  const configPath = path.join(real, 'config.json');
  const hasConfig = await present(configPath);
  // Every file this folder contributes must be inside it (links are resolved only to check that) before any is read.
  const problems: string[] = [];
  const realOf: Record<string, string> = {};
  for (const [p, what] of [[onnxPath, 'the ONNX model'], [tokPath, 'tokenizer.json'], ...(hasConfig ? [[configPath, 'config.json']] : [])] as const) {
    try {
      realOf[p] = await confinedPath(real, p, what);
    } catch (e) {
      if (!(e instanceof PackageError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new PackageError(problems);
  const st = await stat(realOf[onnxPath]);
  if (!st.isFile()) throw new PackageError([`${onnxPath}: not a regular file (a folder, a device or a pipe); a model folder holds plain files`]);
  const tooBig = sizeProblem(onnxPath, st.size, o);
  if (tooBig) throw new PackageError([tooBig]);

  const stamps = [realOf[onnxPath], realOf[tokPath], ...(hasConfig ? [realOf[configPath]] : [])];
  const key = hash(JSON.stringify([REWRITER_VERSION, ...(await Promise.all(stamps.map(async (p) => stat(p).then((s) => [p, s.size, s.mtimeMs]))))]));
  const name = slug(path.basename(real));
  const id = `${name}-${hash(real)}`;
  const cacheDir = path.join(o.cacheRoot, `${id}-${key}`);
  if (await isFile(path.join(cacheDir, 'manifest.json'))) {
    try {
      const pkg = await validatePackage(cacheDir, { maxBytes: o.maxBytes + 2 ** 20, limitSetting: o.limitSetting });
      return { id, source: real, pkg, rewritten: true, notes: pkg.manifest.source?.notes ?? [] };
    } catch {
      await rm(cacheDir, { recursive: true, force: true }); // a damaged cache entry is rebuilt
    }
  }

  const tok = await readJsonConfined(real, tokPath, 'a Hugging Face tokenizer.json (byte-level BPE)', JSON_LIMITS.tokenizer);
  const tokenizerText = tok.bytes;
  const { idSpan: tokenizerVocab } = checkTokenizerJson(tok.json, tokPath);
  try {
    new TextTokenizer(tok.json);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new PackageError([`${tokPath}: ${msg.length > 300 ? `${msg.slice(0, 297)}…` : msg}`]);
  }
  let config: unknown;
  if (hasConfig) {
    config = (await readJsonConfined(real, configPath, 'a Hugging Face config.json', JSON_LIMITS.config)).json;
    checkHfConfig(config, configPath);
  }
  const onnxBytes = await readConfined(real, onnxPath, 'the ONNX model', o.maxBytes);
  let result;
  try {
    result = rewriteForInspection(onnxBytes, { // a Buffer: protobufjs then slices views, not copies
      name: id,
      displayName: path.basename(real),
      sourcePath: onnxPath,
      config: config === undefined ? undefined : readHfConfig(config),
      tokenizerVocab,
      files: { onnx: 'model.onnx', tokenizer: 'tokenizer.json' },
    });
  } catch (e) {
    throw new PackageError([`${onnxPath}: ${e instanceof Error ? e.message : String(e)}`]);
  }
  const parsed = parseManifest(result.manifest, `${onnxPath} (rewritten manifest)`);
  if (!parsed.ok) throw new PackageError(parsed.errors);
  // Written to a temporary folder and renamed, so an interrupted write never leaves a half cache entry.
  await mkdir(o.cacheRoot, { recursive: true });
  const tmp = `${cacheDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await writeFile(path.join(tmp, 'model.onnx'), result.bytes);
    await writeFile(path.join(tmp, 'tokenizer.json'), tokenizerText);
    await writeFile(path.join(tmp, 'manifest.json'), JSON.stringify(parsed.manifest, null, 2));
    await rename(tmp, cacheDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    if (!(await isFile(path.join(cacheDir, 'manifest.json')))) throw e; // another window wrote it first: fine
  }
  const pkg = await validatePackage(cacheDir, { maxBytes: o.maxBytes + 2 ** 20, limitSetting: o.limitSetting });
  return { id, source: real, pkg, rewritten: true, notes: pkg.manifest.source?.notes ?? [] };
}

const WORKER_HEAP_MB = 3072;

/** openModelFolder in a worker thread (`workerFile`: the bundled openModelWorker.js), so the caller's thread stays free. */
export function openModelFolderInWorker(workerFile: string, folder: string, options: OpenOptions): Promise<PreparedModel> {
  return new Promise((resolve, reject) => {
    // A bounded heap: whatever a hostile file makes the decoder do, the worker stops, not the extension host.
    const w = new Worker(workerFile, { workerData: { folder, options }, resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    let settled = false;
    w.once('message', (m: { ok: true; prepared: PreparedModel } | { ok: false; problems: string[] }) => {
      settled = true;
      void w.terminate();
      if (m.ok) resolve(m.prepared);
      else reject(new PackageError(m.problems));
    });
    w.once('error', (e) => {
      settled = true;
      const oom = (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY';
      reject(oom ? new PackageError([`${folder}: opening the model needed more than ${WORKER_HEAP_MB / 1024} GB of memory and was stopped (a damaged file, or a graph too large to inspect)`]) : e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`the model could not be opened: its worker stopped (exit code ${code})`));
    });
  });
}

/**
 * Opens a folder the user points at as a model: a model package (manifest.json, DESIGN.md §4) is validated as it is;
 * an ONNX language model folder without our manifest (transformers.js layout: onnx/model.onnx, tokenizer.json,
 * config.json) is rewritten to expose its attention and cached, so the next open is instant.
 * Node only (no `vscode`), so the unit tests run it as the extension does.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { parseManifest } from '../core/manifest';
import { readHfConfig, rewriteForInspection } from '../core/onnx/attentionRewrite';
import { TextTokenizer } from '../core/tokenizer';
import { PackageError, sizeProblem, validatePackage, type ModelPackage } from './packageValidator';

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

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 60) || 'model';
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 10);

/** The ONNX file of a manifest-less folder: onnx/model.onnx, model.onnx, or the only .onnx file in either place. */
async function findOnnx(folder: string): Promise<string | undefined> {
  for (const c of ['onnx/model.onnx', 'model.onnx']) if (await isFile(path.join(folder, c))) return path.join(folder, c);
  for (const dir of ['onnx', '.']) {
    let names: string[];
    try {
      names = (await readdir(path.join(folder, dir))).filter((n) => n.endsWith('.onnx'));
    } catch {
      continue;
    }
    if (names.length === 1) return path.join(folder, dir, names[0]);
    if (names.length > 1) {
      throw new PackageError([`${path.join(folder, dir)}: holds ${names.length} .onnx files (${names.join(', ')}); keep one, or name it model.onnx`]);
    }
  }
  return undefined;
}

export async function openModelFolder(folder: string, o: OpenOptions): Promise<PreparedModel> {
  let real: string;
  try {
    real = await realpath(folder);
    if (!(await stat(real)).isDirectory()) throw new Error('not a folder');
  } catch {
    throw new PackageError([`${folder}: not a folder (choose the folder that holds the model)`]);
  }
  if (await isFile(path.join(real, 'manifest.json'))) {
    const pkg = await validatePackage(real, { maxBytes: o.maxBytes, limitSetting: o.limitSetting });
    return { id: `${slug(pkg.manifest.name)}-${hash(real)}`, source: real, pkg, rewritten: false, notes: [] };
  }
  const onnxPath = await findOnnx(real);
  if (!onnxPath) {
    throw new PackageError([
      `${real}: no manifest.json and no .onnx file. A model folder is either a model package (manifest.json, model.onnx, tokenizer.json) or an ONNX language model folder (onnx/model.onnx, tokenizer.json, config.json)`,
    ]);
  }
  const tokenizerPath = [path.join(real, 'tokenizer.json'), path.join(path.dirname(onnxPath), 'tokenizer.json')];
  const tokPath = (await isFile(tokenizerPath[0])) ? tokenizerPath[0] : (await isFile(tokenizerPath[1])) ? tokenizerPath[1] : undefined;
  if (!tokPath) throw new PackageError([`${real}: tokenizer.json missing (the Hugging Face tokenizer file of the model belongs beside it)`]);
  const configPath = path.join(real, 'config.json');
  const hasConfig = await isFile(configPath);
  const st = await stat(onnxPath);
  const tooBig = sizeProblem(onnxPath, st.size, o);
  if (tooBig) throw new PackageError([tooBig]);

  const stamps = [onnxPath, tokPath, ...(hasConfig ? [configPath] : [])];
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

  const tokenizerText = await readFile(tokPath, 'utf8');
  let tokenizerJson: { model?: { vocab?: Record<string, number> }; added_tokens?: { id: number }[] };
  try {
    tokenizerJson = JSON.parse(tokenizerText);
    new TextTokenizer(tokenizerJson);
  } catch (e) {
    throw new PackageError([`${tokPath}: ${e instanceof Error ? e.message : String(e)}`]);
  }
  // A loop, not Math.max(...ids): vocabularies of 150 K entries overflow the argument list.
  let tokenizerVocab = 0;
  for (const id of [...Object.values(tokenizerJson.model?.vocab ?? {}), ...(tokenizerJson.added_tokens ?? []).map((t) => t.id)]) tokenizerVocab = Math.max(tokenizerVocab, id + 1);
  let config: unknown;
  if (hasConfig) {
    try {
      config = JSON.parse(await readFile(configPath, 'utf8'));
    } catch (e) {
      throw new PackageError([`${configPath}: not valid JSON (${e instanceof Error ? e.message : e})`]);
    }
  }
  let result;
  try {
    result = rewriteForInspection(await readFile(onnxPath), { // a Buffer: protobufjs then slices views, not copies
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

/** openModelFolder in a worker thread (`workerFile`: the bundled openModelWorker.js), so the caller's thread stays free. */
export function openModelFolderInWorker(workerFile: string, folder: string, options: OpenOptions): Promise<PreparedModel> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerFile, { workerData: { folder, options } });
    let settled = false;
    w.once('message', (m: { ok: true; prepared: PreparedModel } | { ok: false; problems: string[] }) => {
      settled = true;
      void w.terminate();
      if (m.ok) resolve(m.prepared);
      else reject(new PackageError(m.problems));
    });
    w.once('error', (e) => {
      settled = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`the model could not be opened: its worker stopped (exit code ${code})`));
    });
  });
}

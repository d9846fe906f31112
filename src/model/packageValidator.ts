import { realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { expectedOutputNames, parseManifest, type Manifest } from '../core/manifest';
import { ElemType, GraphModel } from '../core/onnx/graphModel';
import { checkWeights, elemName, shortName } from '../core/onnx/weightCheck';
import { PackageError } from './packageError';
import { JSON_LIMITS, confinedPath, readConfined, readJsonConfined } from './safeFiles';
import { checkTokenizerJson } from './tokenizerCheck';

export interface ModelPackage {
  folder: string;
  manifest: Manifest;
  /** Real paths (links resolved, checked to be inside the folder): what was validated is what is read later. */
  onnxPath: string;
  tokenizerPath: string;
  /** What the checks found worth telling (e.g. infinite mask constants); the model opens. */
  notes?: string[];
}

export { PackageError };

const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

/** The refusal of a file over the size limit: names the file, its size, the limit and the setting that raises it. */
export function sizeProblem(file: string, size: number, o: { maxBytes: number; limitSetting?: string }): string | undefined {
  if (size <= o.maxBytes) return undefined;
  const how = o.limitSetting ? `; raise the setting ${o.limitSetting} to open it (the panel holds the whole model in memory)` : '';
  return `${file}: ${mb(size)} is over the limit of ${+(o.maxBytes / 2 ** 20).toFixed(1)} MB${how}`;
}

const DTYPE_ELEM: Record<string, number> = { int64: ElemType.INT64, int32: ElemType.INT32, float32: ElemType.FLOAT };

/**
 * Checks a model package folder against its manifest: every file is a regular file inside the folder (symbolic links
 * are followed only to check that), the manifest's fields have the right types and sizes within limits, the ONNX
 * graph has the inputs (with the element types the engine feeds) and every output the manifest names, its weights are
 * finite and match their declared dims, and the tokenizer's vocabulary fits the model. Every problem names the file
 * and the field.
 */
export async function validatePackage(folder: string, opts: { maxBytes?: number; limitSetting?: string } = {}): Promise<ModelPackage> {
  let realFolder: string;
  try {
    realFolder = await realpath(folder);
  } catch {
    throw new PackageError([`${folder}: not a folder (choose the folder that holds the model)`]);
  }
  const manifestPath = path.join(folder, 'manifest.json');
  const { json } = await readJsonConfined(realFolder, manifestPath, 'a model package manifest (DESIGN.md §4, media/models/manifest.schema.json)', JSON_LIMITS.manifest);
  const parsed = parseManifest(json, manifestPath);
  if (!parsed.ok) throw new PackageError(parsed.errors);
  const m = parsed.manifest;
  const problems: string[] = [];
  const onnxPath = path.join(folder, m.files.onnx);
  const tokenizerPath = path.join(folder, m.files.tokenizer);
  // The schema refuses "..", absolute paths and backslashes; a symbolic link could still lead out of the folder.
  const real: Record<string, string> = {};
  for (const [field, p] of [['files.onnx', onnxPath], ['files.tokenizer', tokenizerPath]] as const) {
    try {
      real[field] = await confinedPath(realFolder, p, field, field);
    } catch (e) {
      if (!(e instanceof PackageError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new PackageError(problems);
  const size = (await stat(real['files.onnx'])).size;
  const tooBig = opts.maxBytes === undefined ? undefined : sizeProblem(onnxPath, size, { maxBytes: opts.maxBytes, limitSetting: opts.limitSetting });
  if (tooBig) throw new PackageError([tooBig]);
  const bytes = await readConfined(realFolder, onnxPath, 'the ONNX model', opts.maxBytes ?? Number.MAX_SAFE_INTEGER, { field: 'files.onnx' });
  let g;
  try {
    g = new GraphModel(bytes); // a Buffer: protobufjs then slices views, not copies
  } catch (e) {
    throw new PackageError([`${onnxPath}: ${e instanceof Error ? e.message : e}`]);
  }
  const ids = g.inputs.find((i) => i.name === m.inputs.ids.name);
  if (!ids) {
    problems.push(`${onnxPath}: has no input ${shortName(m.inputs.ids.name)} (manifest.json field inputs.ids.name; the graph's inputs are ${g.inputs.slice(0, 8).map((i) => shortName(i.name)).join(', ') || 'none'})`);
  } else if (ids.elemType !== ElemType.INT64) {
    problems.push(`${onnxPath}: input ${shortName(ids.name)} holds ${elemName(ids.elemType)}; the inspector feeds token ids as int64 (manifest.json field inputs.ids.dtype is "int64"). Export the model with int64 token ids`);
  }
  for (const [i, x] of (m.inputs.extra ?? []).entries()) {
    const gi = g.inputs.find((v) => v.name === x.name);
    if (!gi) problems.push(`${onnxPath}: has no input ${shortName(x.name)} (manifest.json field inputs.extra.${i}.name)`);
    else if (gi.elemType !== DTYPE_ELEM[x.dtype]) problems.push(`${onnxPath}: input ${shortName(x.name)} holds ${elemName(gi.elemType)}, but manifest.json field inputs.extra.${i}.dtype says ${x.dtype}`);
  }
  if (m.cache) {
    for (const part of ['key', 'value'] as const) {
      const want = ElemType[m.cache[part].dtype === 'float16' ? 'FLOAT16' : 'FLOAT'];
      for (let l = 0; l < m.layers && problems.length < 8; l++) {
        const n = m.cache[part].past.replace('{layer}', String(l));
        const gi = g.inputs.find((v) => v.name === n);
        if (!gi) problems.push(`${onnxPath}: has no input ${shortName(n)} (manifest.json field cache.${part}.past, layer ${l})`);
        else if (gi.elemType !== want) problems.push(`${onnxPath}: input ${shortName(n)} holds ${elemName(gi.elemType)}, but manifest.json field cache.${part}.dtype says ${m.cache[part].dtype}`);
      }
    }
  }
  const outs = new Set(g.outputs.map((o) => o.name));
  const missing = expectedOutputNames(m).filter((n) => !outs.has(n));
  for (const n of missing.slice(0, 5)) problems.push(`${onnxPath}: has no output ${shortName(n)} (manifest.json field outputs; the graph has ${outs.size} outputs)`);
  if (missing.length > 5) problems.push(`${onnxPath}: ${missing.length - 5} more outputs that the manifest names are missing (manifest.json fields layers and outputs)`);
  const weights = checkWeights(g);
  problems.push(...weights.errors.map((e) => `${onnxPath}: ${e}`));
  if (problems.length) throw new PackageError(problems);
  const tok = await readJsonConfined(realFolder, tokenizerPath, 'a Hugging Face tokenizer.json', JSON_LIMITS.tokenizer, 'files.tokenizer');
  const { entries, idSpan } = checkTokenizerJson(tok.json, tokenizerPath);
  if (entries > m.vocabSize || idSpan > m.vocabSize) {
    problems.push(`${tokenizerPath}: vocabulary of ${entries} entries (ids up to ${idSpan - 1}) is larger than manifest.json field vocabSize (${m.vocabSize})`);
  }
  if (problems.length) throw new PackageError(problems);
  return { folder, manifest: m, onnxPath: real['files.onnx'], tokenizerPath: real['files.tokenizer'], notes: weights.notes.map((n) => `${path.basename(onnxPath)}: ${n}`) };
}

import { readFile, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { expectedOutputNames, parseManifest, type Manifest } from '../core/manifest';
import { readGraphIo } from '../core/onnx/graphInfo';

export interface ModelPackage {
  folder: string;
  manifest: Manifest;
  onnxPath: string;
  tokenizerPath: string;
}

export class PackageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Checks a model package folder against its manifest: the files exist and stay inside the folder, the manifest's
 * fields have the right types, the ONNX graph has the input and every output the manifest names, and the tokenizer's
 * vocabulary fits the model. Every problem names the file and the field.
 */
export async function validatePackage(folder: string, opts: { maxBytes?: number } = {}): Promise<ModelPackage> {
  const manifestPath = path.join(folder, 'manifest.json');
  if (!(await exists(manifestPath))) throw new PackageError([`${manifestPath}: file missing (a model package needs manifest.json)`]);
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (e) {
    throw new PackageError([`${manifestPath}: not valid JSON (${e instanceof Error ? e.message : e})`]);
  }
  const parsed = parseManifest(json, manifestPath);
  if (!parsed.ok) throw new PackageError(parsed.errors);
  const m = parsed.manifest;
  const problems: string[] = [];
  const onnxPath = path.join(folder, m.files.onnx);
  const tokenizerPath = path.join(folder, m.files.tokenizer);
  for (const [field, p] of [['files.onnx', onnxPath], ['files.tokenizer', tokenizerPath]] as const) {
    if (!(await exists(p))) problems.push(`${p}: file missing (manifest.json field ${field})`);
  }
  if (problems.length) throw new PackageError(problems);
  const size = (await stat(onnxPath)).size;
  if (opts.maxBytes !== undefined && size > opts.maxBytes) {
    throw new PackageError([`${onnxPath}: ${(size / 2 ** 20).toFixed(1)} MB is over the ${(opts.maxBytes / 2 ** 20).toFixed(0)} MB limit`]);
  }
  let io;
  try {
    io = readGraphIo(new Uint8Array(await readFile(onnxPath)));
  } catch (e) {
    throw new PackageError([`${onnxPath}: ${e instanceof Error ? e.message : e}`]);
  }
  if (!io.inputs.some((i) => i.name === m.inputs.ids.name)) {
    problems.push(`${onnxPath}: has no input "${m.inputs.ids.name}" (manifest.json field inputs.ids.name; the graph's inputs are ${io.inputs.map((i) => i.name).join(', ')})`);
  }
  const outs = new Set(io.outputs.map((o) => o.name));
  for (const n of expectedOutputNames(m)) {
    if (!outs.has(n)) problems.push(`${onnxPath}: has no output "${n}" (manifest.json field outputs; the graph has ${outs.size} outputs)`);
  }
  try {
    const tj = JSON.parse(await readFile(tokenizerPath, 'utf8')) as { model?: { vocab?: Record<string, number> } };
    const v = Object.keys(tj.model?.vocab ?? {}).length;
    if (v === 0) problems.push(`${tokenizerPath}: no model.vocab`);
    else if (v > m.vocabSize) problems.push(`${tokenizerPath}: vocabulary of ${v} is larger than manifest.json field vocabSize (${m.vocabSize})`);
  } catch (e) {
    problems.push(`${tokenizerPath}: not valid JSON (${e instanceof Error ? e.message : e})`);
  }
  if (problems.length) throw new PackageError(problems);
  return { folder, manifest: m, onnxPath, tokenizerPath };
}

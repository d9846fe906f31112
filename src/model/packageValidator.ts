import { readFile, realpath, stat } from 'node:fs/promises';
import * as path from 'node:path';
import { expectedOutputNames, parseManifest, type Manifest } from '../core/manifest';
import { GraphModel } from '../core/onnx/graphModel';

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
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;

/** The refusal of a file over the size limit: names the file, its size, the limit and the setting that raises it. */
export function sizeProblem(file: string, size: number, o: { maxBytes: number; limitSetting?: string }): string | undefined {
  if (size <= o.maxBytes) return undefined;
  const how = o.limitSetting ? `; raise the setting ${o.limitSetting} to open it (the panel holds the whole model in memory)` : '';
  return `${file}: ${mb(size)} is over the limit of ${+(o.maxBytes / 2 ** 20).toFixed(1)} MB${how}`;
}

export async function validatePackage(folder: string, opts: { maxBytes?: number; limitSetting?: string } = {}): Promise<ModelPackage> {
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
  // The schema refuses "..", absolute paths and backslashes; a symbolic link could still lead out of the folder.
  const realFolder = await realpath(folder);
  for (const [field, p] of [['files.onnx', onnxPath], ['files.tokenizer', tokenizerPath]] as const) {
    const rp = await realpath(p);
    if (!rp.startsWith(realFolder + path.sep)) problems.push(`${p}: leads outside the package folder (to ${rp}); manifest.json field ${field} must name a file inside it`);
  }
  if (problems.length) throw new PackageError(problems);
  const size = (await stat(onnxPath)).size;
  const tooBig = opts.maxBytes === undefined ? undefined : sizeProblem(onnxPath, size, { maxBytes: opts.maxBytes, limitSetting: opts.limitSetting });
  if (tooBig) throw new PackageError([tooBig]);
  let io;
  try {
    io = new GraphModel(await readFile(onnxPath)); // a Buffer: protobufjs then slices views, not copies
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

/**
 * The bundled models as the extension ships them. In the repository each bundled model is a complete model package
 * (media/models/<id>/: manifest.json, model.onnx, tokenizer.json), and the twins share one tokenizer, byte for byte.
 * The build (scripts/build.mjs) validates every source package in full, then stages it into dist/models/<id>/
 * (manifest and ONNX) and writes each distinct tokenizer once into dist/models/shared/, named by its content hash,
 * with dist/models/index.json saying which model uses which. Only this file reads that index, and only for the
 * bundled models: the contract for users' packages (validatePackage: every file inside the package folder) is
 * unchanged, and the index is written by our build, never read from a user's folder.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseManifest } from '../core/manifest';
import { validatePackage, type ModelPackage } from '../model/packageValidator';

export const BUNDLED_INDEX = 'index.json';
const SHARED_DIR = 'shared';

export interface BundledIndex {
  formatVersion: 1;
  /** Model id → its folder under dist/models and its tokenizer, a path under dist/models/shared/. */
  models: Record<string, { folder: string; onnx: string; tokenizer: string; tokenizerSha256: string }>;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Build step: validates each package under `srcRoot` (a folder holding a manifest.json), copies its manifest and
 * ONNX file to `outRoot`/<id>/ and its tokenizer, once per distinct content, to `outRoot`/shared/. Returns the index.
 */
export async function stageBundledModels(srcRoot: string, outRoot: string): Promise<BundledIndex> {
  rmSync(outRoot, { recursive: true, force: true });
  mkdirSync(path.join(outRoot, SHARED_DIR), { recursive: true });
  const index: BundledIndex = { formatVersion: 1, models: {} };
  const ids = readdirSync(srcRoot)
    .filter((d) => statSync(path.join(srcRoot, d)).isDirectory() && existsSync(path.join(srcRoot, d, 'manifest.json')))
    .sort();
  for (const id of ids) {
    const pkg = await validatePackage(path.join(srcRoot, id));
    if (pkg.manifest.name !== id) throw new Error(`${pkg.folder}/manifest.json: name "${pkg.manifest.name}" differs from its folder "${id}"`);
    mkdirSync(path.join(outRoot, id), { recursive: true });
    copyFileSync(path.join(pkg.folder, 'manifest.json'), path.join(outRoot, id, 'manifest.json'));
    copyFileSync(pkg.onnxPath, path.join(outRoot, id, pkg.manifest.files.onnx));
    const tok = readFileSync(pkg.tokenizerPath);
    const hash = sha256(tok);
    const tokenizer = `${SHARED_DIR}/tokenizer-${hash.slice(0, 16)}.json`;
    if (!existsSync(path.join(outRoot, tokenizer))) writeFileSync(path.join(outRoot, tokenizer), tok);
    index.models[id] = { folder: id, onnx: `${id}/${pkg.manifest.files.onnx}`, tokenizer, tokenizerSha256: hash };
  }
  writeFileSync(path.join(outRoot, BUNDLED_INDEX), JSON.stringify(index, null, 2) + '\n');
  return index;
}

/** A plain relative path inside the models folder: no "..", not absolute, forward slashes only. */
const inside = (p: unknown): p is string => typeof p === 'string' && p.length > 0 && !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..');

/**
 * Run time: the bundled model `id` from the staged folder `modelsRoot` (the extension's dist/models). The package
 * was validated in full by the build; here the manifest is parsed again and the files are checked to exist.
 */
export function loadBundledPackage(modelsRoot: string, id: string): ModelPackage {
  const indexPath = path.join(modelsRoot, BUNDLED_INDEX);
  let index: BundledIndex;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8')) as BundledIndex;
  } catch (e) {
    throw new Error(`${indexPath}: cannot read the bundled models' index (${e instanceof Error ? e.message : e}); the extension's build is incomplete (run the build again, or reinstall the extension)`);
  }
  const entry = index.models?.[id];
  if (!entry || !inside(entry.folder) || !inside(entry.onnx) || !inside(entry.tokenizer)) throw new Error(`${indexPath}: no valid entry for the bundled model "${id}"`);
  const folder = path.join(modelsRoot, entry.folder);
  const manifestPath = path.join(folder, 'manifest.json');
  const parsed = parseManifest(JSON.parse(readFileSync(manifestPath, 'utf8')), manifestPath);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const onnxPath = path.join(modelsRoot, entry.onnx);
  const tokenizerPath = path.join(modelsRoot, entry.tokenizer);
  for (const f of [onnxPath, tokenizerPath]) if (!existsSync(f)) throw new Error(`${f}: file missing from the extension (bundled model "${id}"); reinstall the extension`);
  return { folder, manifest: parsed.manifest, onnxPath, tokenizerPath };
}

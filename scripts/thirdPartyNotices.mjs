// Writes ThirdPartyNotices.txt (shipped in the .vsix) from what the build really bundles: every npm package with an
// input in the product bundles' esbuild metafiles, plus onnxruntime-web for the runtime files copied to dist/ort/
// (its .mjs glue and .wasm binary). Each package's licence text is read from its folder in node_modules; a package
// that ships none (onnxruntime-web) takes the licence of its source repository, kept in scripts/licenses/.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { owner } from './bundleBudget.mjs';

/** Packages whose npm tarball has no licence file: the text, copied from the project's repository at that release. */
const FALLBACK = {
  'onnxruntime-web': {
    file: 'scripts/licenses/onnxruntime-web.LICENSE.txt',
    source: 'the LICENSE of github.com/microsoft/onnxruntime (the npm package has no licence file; its files carry "Copyright (c) Microsoft Corporation. Licensed under the MIT License.")',
    extra:
      'dist/ort/ort-wasm-simd-threaded.asyncify.wasm.gz and dist/ort/ort-wasm-simd-threaded.wasm.gz are ONNX Runtime compiled to\n' +
      'WebAssembly with Emscripten (gzipped; inside, byte for byte the npm package\'s .wasm files). They contain third-party components of ONNX Runtime (among them ONNX, protobuf, Eigen, abseil, SafeInt, flatbuffers) whose\n' +
      'notices are in ONNX Runtime\'s ThirdPartyNotices.txt for this release:\n' +
      '  https://github.com/microsoft/onnxruntime/blob/v{version}/ThirdPartyNotices.txt\n',
  },
};

const LICENSE_FILE = /^(licen[cs]e|copying)(\.(md|txt))?$/i;

/** The packages a set of esbuild metafiles bundles (names as in node_modules), sorted. */
export function bundledPackages(metafiles) {
  const names = new Set();
  for (const meta of metafiles) {
    for (const out of Object.values(meta.outputs)) for (const input of Object.keys(out.inputs)) if (/node_modules\//.test(input)) names.add(owner(input));
  }
  return [...names].sort();
}

export function noticesText(root, packages) {
  const parts = [
    'THIRD-PARTY SOFTWARE NOTICES — Attention Inspector',
    '',
    'The extension bundles the following packages (in dist/extension.js, dist/openModelWorker.js, dist/webview.js and',
    'dist/ort/). Their licences follow. This file is written by the build (scripts/thirdPartyNotices.mjs) from the',
    'packages esbuild actually bundled.',
    '',
  ];
  for (const name of packages) {
    const dir = join(root, 'node_modules', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    const files = readdirSync(dir).filter((f) => LICENSE_FILE.test(f)).sort();
    const fb = FALLBACK[name];
    let text;
    let from;
    if (files.length) {
      text = files.map((f) => readFileSync(join(dir, f), 'utf8').trimEnd()).join('\n\n');
      from = `node_modules/${name}/${files.join(', ')}`;
    } else if (fb) {
      text = readFileSync(join(root, fb.file), 'utf8').trimEnd();
      from = fb.source;
    } else {
      throw new Error(`node_modules/${name} has no licence file and scripts/thirdPartyNotices.mjs knows none: add its licence text to scripts/licenses/`);
    }
    for (const notice of readdirSync(dir).filter((f) => /^notice(\.(md|txt))?$/i.test(f))) text += '\n\n' + readFileSync(join(dir, notice), 'utf8').trimEnd();
    const url = typeof pkg.repository === 'string' ? pkg.repository : pkg.repository?.url;
    parts.push(
      '='.repeat(100),
      `${name} ${pkg.version} — ${pkg.license ?? 'see below'}${url ? ` — ${url.replace(/^git\+/, '')}` : ''}`,
      `Licence text from ${from}`,
      '-'.repeat(100),
      text,
      ...(fb?.extra && !files.length ? ['', fb.extra.replace('{version}', pkg.version).trimEnd()] : []),
      '',
    );
  }
  return parts.join('\n');
}

/** Reads out/meta/*.json (written by the build) and returns the notices for what they bundle. */
export function noticesFromBuild(root) {
  const dir = join(root, 'out/meta');
  const metas = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))) : [];
  // onnxruntime-web is also shipped as files (dist/ort), whether or not a bundle imports it.
  const packages = [...new Set([...bundledPackages(metas), 'onnxruntime-web'])].sort();
  return { packages, text: noticesText(root, packages) };
}

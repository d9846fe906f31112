// One activation sample for bench/activation.mjs: node bench/activationChild.cjs <bundle> <repo root>
// `vscode` is a STUB: a Proxy whose members are no-op functions/objects, so activate() runs its construction code
// without a workbench. Prints {"activateMs", "firstUseMs"} (firstUseMs: the first API call, which loads the core
// bundle in the new layout; 0 for the old one, which constructs everything in activate()).
const t0 = process.hrtime.bigint();
const Module = require('node:module');
const path = require('node:path');
const [bundle, root] = process.argv.slice(2);

const stub = () => {
  const target = function () {};
  return new Proxy(target, {
    get: (_t, k) => (k === 'then' ? undefined : k === Symbol.toPrimitive ? () => '' : k === Symbol.iterator ? [][Symbol.iterator].bind([]) : stub()),
    apply: () => stub(),
    construct: () => stub(),
    set: () => true,
  });
};
// esbuild's `import * as vscode` copies the module's own properties: list the members the bundles use.
const fs = require('node:fs');
const used = new Set();
for (const f of [bundle, path.join(path.dirname(bundle), 'extensionCore.js')]) {
  if (fs.existsSync(f)) for (const m of fs.readFileSync(f, 'utf8').matchAll(/\bvscode\d*\.([A-Za-z_]\w*)/g)) used.add(m[1]);
}
const vscode = Object.fromEntries([...used].map((k) => [k, stub()]));
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? 'vscode' : resolve.call(this, request, ...rest);
};
require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscode };

const context = {
  subscriptions: [],
  extensionUri: stub(),
  globalStorageUri: stub(),
  extension: { packageJSON: require(path.join(root, 'package.json')) },
};
const t1 = process.hrtime.bigint();
const api = require(bundle).activate(context);
const t2 = process.hrtime.bigint();
api.capabilities(); // the new layout loads dist/extensionCore.js here
const t3 = process.hrtime.bigint();
const ms = (a, b) => Number(b - a) / 1e6;
process.stdout.write(JSON.stringify({ activateMs: ms(t1, t2), firstUseMs: ms(t2, t3), harnessMs: ms(t0, t1) }) + '\n');
process.exit(0);

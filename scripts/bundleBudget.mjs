// Bundle-size budgets, checked on esbuild's metafile after every build of the product bundles. A bundle over its
// budget, or one npm package or one source file taking more than its share of a bundle, fails the build and prints
// the largest contributors, so a dependency that suddenly pulls in hundreds of KB (zod's locales did: 454 KB per
// bundle) is caught where it happens. Sizes are esbuild's `bytesInOutput` (what the input adds to the bundle).

const KB = 1024;

/** Budgets per build mode: `npm run build` / tests build unminified, `npm run package` minified. */
export const BUDGETS = {
  development: { bundle: 800 * KB, package: 300 * KB, input: 160 * KB },
  production: { bundle: 400 * KB, package: 160 * KB, input: 100 * KB },
};

/** The npm package an input path belongs to ("zod", "@huggingface/tokenizers"), or its first folder for our code. */
export function owner(input) {
  const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m ? m[1] : `(ours) ${input.split('/')[0]}`;
}

const kb = (n) => `${(n / KB).toFixed(1)} KB`;

/**
 * Checks every output of one esbuild metafile against `budget`. Returns { problems, report }: problems is empty when
 * the bundle fits; report lists each bundle's size and its top contributors (packages, then single files).
 */
export function checkBundles(metafile, budget, top = 6) {
  const problems = [];
  const report = [];
  for (const [file, out] of Object.entries(metafile.outputs)) {
    if (file.endsWith('.map')) continue;
    const inputs = Object.entries(out.inputs).map(([path, v]) => ({ path, bytes: v.bytesInOutput }));
    const byPackage = new Map();
    for (const i of inputs) byPackage.set(owner(i.path), (byPackage.get(owner(i.path)) ?? 0) + i.bytes);
    const packages = [...byPackage].sort((a, b) => b[1] - a[1]);
    const files = [...inputs].sort((a, b) => b.bytes - a.bytes);
    report.push(
      `${file}: ${kb(out.bytes)} (budget ${kb(budget.bundle)})`,
      `  packages: ${packages.slice(0, top).map(([p, b]) => `${p} ${kb(b)}`).join(', ')}`,
      `  files:    ${files.slice(0, top).map((i) => `${i.path} ${kb(i.bytes)}`).join(', ')}`,
    );
    if (out.bytes > budget.bundle) problems.push(`${file}: ${kb(out.bytes)} is over the bundle budget of ${kb(budget.bundle)}`);
    for (const [p, b] of packages) {
      if (!p.startsWith('(ours)') && b > budget.package) problems.push(`${file}: ${p} adds ${kb(b)}, over the per-package budget of ${kb(budget.package)}`);
    }
    for (const i of files) if (i.bytes > budget.input) problems.push(`${file}: ${i.path} adds ${kb(i.bytes)}, over the per-file budget of ${kb(budget.input)}`);
  }
  return { problems, report };
}

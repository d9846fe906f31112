import { randomBytes } from 'node:crypto';

export interface PanelHtmlInput {
  cspSource: string;
  scriptUri: string;
  styleUri: string;
  ortBaseUri: string;
  probeUri: string;
  /** Folder of the bundled model packages, ending in "/". */
  modelsUri: string;
  /** Files the host found missing from the extension; the panel shows them instead of loading ORT. */
  missingFiles: string[];
  /** The backend setting when the panel starts (so its first choice, and its preloading, follow the setting). */
  backendPreference?: string;
  /** Timings of wasm against WebGPU the host remembers for this machine (BackendTiming[]). */
  backendTimings?: unknown[];
  /**
   * The script that starts the first model's files (listed here) in the page's head (dist/early.js, inlined with the
   * page's nonce). A fresh window's panel script starts 0.2–1.2 s after its page; these files start downloading, or
   * come from the cache (webview/fileCache.ts), while the script is still on its way.
   */
  early?: { script: string; files: string[] };
  /** Names the Cache Storage of the panel's large files (sizes and times of the installed files); none: no cache. */
  fileStamp?: string;
}

/** The page's early script in dist/ (built from webview/early.ts). */
export const EARLY_SCRIPT = 'early.js';

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The explorer's HTML: the same CSP, no runtime (it draws what the side panel's analyses answer, relayed by the host).
 */
export function explorerHtml(input: { cspSource: string; scriptUri: string; styleUri: string }): string {
  return page(input.cspSource, input.styleUri, input.scriptUri, 'Attention Explorer', '', '<main id="app" aria-live="polite"><p class="muted">Starting…</p></main>');
}

/**
 * The panel's HTML with a strict CSP: nothing remote, our script only by nonce, wasm compilation allowed
 * ('wasm-unsafe-eval', not 'unsafe-eval'), and fetch / dynamic import / workers only from the webview source.
 */
export function panelHtml(input: PanelHtmlInput): string {
  const stamp = `data-file-stamp="${escapeAttr(input.fileStamp ?? '')}"`;
  const data = `data-ort-base="${escapeAttr(input.ortBaseUri)}" data-probe="${escapeAttr(input.probeUri)}" data-models="${escapeAttr(input.modelsUri)}" data-missing="${escapeAttr(JSON.stringify(input.missingFiles))}" data-backend="${escapeAttr(input.backendPreference ?? 'auto')}" data-backend-timings="${escapeAttr(JSON.stringify(input.backendTimings ?? []))}" ${stamp}`;
  // The early script runs before the body exists: it gets what it needs on its own element. (It comes before the
  // stylesheet: a script after a pending stylesheet waits for it.) Nothing early when files are missing: the panel
  // then only says which.
  const early = input.early && !input.missingFiles.length ? { attrs: `${stamp} data-files="${escapeAttr(JSON.stringify(input.early.files))}"`, script: input.early.script } : undefined;
  return page(input.cspSource, input.styleUri, input.scriptUri, 'Attention Inspector', data, '<main id="app" aria-live="polite"><p class="muted">Starting…</p></main>', early);
}

/** A script's text made safe inside <script>…</script> (a "</script" or "<!--" in its strings would end or change the element). */
function inlineScript(js: string): string {
  return js.replace(/<(\/script|!--)/gi, '\\x3C$1');
}

function page(cspSource: string, styleUri: string, scriptUri: string, title: string, bodyData: string, main: string, early?: { attrs: string; script: string }): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `img-src ${cspSource} data: blob:`,
    `style-src ${cspSource}`,
    `font-src ${cspSource}`,
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${cspSource}`,
    `connect-src ${cspSource}`,
    `worker-src ${cspSource} blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
${early ? `<script nonce="${nonce}" ${early.attrs}>${inlineScript(early.script)}</script>\n` : ''}<link href="${escapeAttr(styleUri)}" rel="stylesheet">
<title>${title}</title>
</head>
<body${bodyData ? ' ' + bodyData : ''}>
${main}
<script type="module" nonce="${nonce}" src="${escapeAttr(scriptUri)}"></script>
</body>
</html>`;
}

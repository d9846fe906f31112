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
}

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
  const data = `data-ort-base="${escapeAttr(input.ortBaseUri)}" data-probe="${escapeAttr(input.probeUri)}" data-models="${escapeAttr(input.modelsUri)}" data-missing="${escapeAttr(JSON.stringify(input.missingFiles))}" data-backend="${escapeAttr(input.backendPreference ?? 'auto')}" data-backend-timings="${escapeAttr(JSON.stringify(input.backendTimings ?? []))}"`;
  return page(input.cspSource, input.styleUri, input.scriptUri, 'Attention Inspector', data, '<main id="app" aria-live="polite"><p class="muted">Starting…</p></main>');
}

function page(cspSource: string, styleUri: string, scriptUri: string, title: string, bodyData: string, main: string): string {
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
<link href="${escapeAttr(styleUri)}" rel="stylesheet">
<title>${title}</title>
</head>
<body${bodyData ? ' ' + bodyData : ''}>
${main}
<script type="module" nonce="${nonce}" src="${escapeAttr(scriptUri)}"></script>
</body>
</html>`;
}

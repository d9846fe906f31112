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
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * The panel's HTML with a strict CSP: nothing remote, our script only by nonce, wasm compilation allowed
 * ('wasm-unsafe-eval', not 'unsafe-eval'), and fetch / dynamic import / workers only from the webview source.
 */
export function panelHtml(input: PanelHtmlInput): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = [
    "default-src 'none'",
    `img-src ${input.cspSource} data: blob:`,
    `style-src ${input.cspSource}`,
    `font-src ${input.cspSource}`,
    `script-src 'nonce-${nonce}' 'wasm-unsafe-eval' ${input.cspSource}`,
    `connect-src ${input.cspSource}`,
    `worker-src ${input.cspSource} blob:`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${escapeAttr(input.styleUri)}" rel="stylesheet">
<title>Attention Inspector</title>
</head>
<body data-ort-base="${escapeAttr(input.ortBaseUri)}" data-probe="${escapeAttr(input.probeUri)}" data-models="${escapeAttr(input.modelsUri)}" data-missing="${escapeAttr(JSON.stringify(input.missingFiles))}">
<main id="app" aria-live="polite"><p class="muted">Starting…</p></main>
<script type="module" nonce="${nonce}" src="${escapeAttr(input.scriptUri)}"></script>
</body>
</html>`;
}

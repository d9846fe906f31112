import type { Capabilities, ProbeResult } from '../../src/core/protocol';

export interface RuntimeViewState {
  capabilities?: Capabilities;
  probe?: ProbeResult;
  running: boolean;
  error?: string;
  missingFiles: string[];
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function row(label: string, value: string, testId: string): HTMLElement {
  return el('tr', {}, el('th', { scope: 'row' }, label), el('td', { 'data-testid': testId }, value));
}

/** Renders the panel from state; text only (no innerHTML), so nothing the host sends is parsed as markup. */
export function renderRuntimeView(root: HTMLElement, s: RuntimeViewState): void {
  const parts: HTMLElement[] = [];
  const caps = s.capabilities;
  const badgeText = caps ? (caps.backend === 'webgpu' ? 'WebGPU' : 'WebAssembly') : '…';
  parts.push(
    el('header', {}, el('h2', {}, 'Runtime'), el('span', { class: `badge ${caps?.backend ?? ''}`, 'data-testid': 'backend-badge', title: 'ONNX Runtime backend' }, badgeText)),
  );
  if (s.missingFiles.length) {
    parts.push(
      el('div', { class: 'error', role: 'alert', 'data-testid': 'error' }, `Files missing from the extension: ${s.missingFiles.join(', ')}. Reinstall the extension or run "npm run build".`),
    );
  }
  if (caps) {
    const a = caps.adapter;
    const table = el('table', { class: 'facts' });
    table.append(
      row('Backend', caps.backend, 'backend'),
      row('Why', caps.backendReason, 'backend-reason'),
      row('GPU adapter', a ? [a.vendor || 'unknown vendor', a.architecture, a.description].filter(Boolean).join(' · ') : 'none', 'adapter'),
    );
    if (!a) table.append(row('Why no WebGPU', caps.webgpuUnavailableReason ?? 'unknown', 'no-webgpu-reason'));
    if (a) table.append(row('shader-f16', a.shaderF16 ? 'yes' : 'no (fp32 only)', 'f16'), row('Software adapter', a.software ? 'yes (WebGPU emulated on the CPU)' : 'no', 'software'));
    table.append(row('Threads', caps.crossOriginIsolated ? 'multi-threaded wasm possible' : 'single-threaded wasm (no cross-origin isolation)', 'threads'));
    parts.push(table);
  }
  const probe = el('section', { 'data-testid': 'probe' }, el('h3', {}, 'Runtime check'));
  if (s.running) probe.append(el('p', { class: 'muted' }, 'Running the probe model…'));
  else if (s.probe) {
    const p = s.probe;
    const t = el('table', { class: 'facts' });
    t.append(
      row('Ran on', p.backend, 'probe-backend'),
      row('Tokens', String(p.tokens), 'probe-tokens'),
      row('Max |ORT − reference|', p.maxAbsError.toExponential(2), 'probe-error'),
      row('Verdict', p.maxAbsError < 1e-4 ? 'matches the JavaScript reference' : 'DOES NOT match the reference', 'probe-verdict'),
      row('Session / run', `${p.sessionMs.toFixed(1)} ms / ${p.runMs.toFixed(1)} ms`, 'probe-timing'),
      row('Last row (first 8)', p.firstRow.map((v) => v.toFixed(3)).join(' '), 'probe-row'),
    );
    probe.append(t);
  } else probe.append(el('p', { class: 'muted' }, 'Run "Attention Inspector: Check Runtime" from the Command Palette to run a tiny attention model here.'));
  parts.push(probe);
  if (s.error) parts.push(el('div', { class: 'error', role: 'alert', 'data-testid': 'error' }, s.error));
  root.replaceChildren(...parts);
}

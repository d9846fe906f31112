/**
 * The panel's colours: the same theme colours the editor tints with (contributed by the extension, so themes can
 * override them), read from the CSS variables VS Code gives the webview. Read again on every draw, so a theme
 * change shows at the next redraw.
 */
import { LEVELS, levelAlpha, levelOf } from '../../src/core/colorScale';

/** Fallbacks used only if the host's theme variables are missing (e.g. in the browser tests' page). */
const FALLBACK_POS = '255, 140, 0';
const FALLBACK_NEG = '55, 148, 255';

export interface Palette {
  background: string;
  foreground: string;
  muted: string;
  border: string;
  focus: string;
  positive: string[];
  negative: string[];
}

export function readPalette(): Palette {
  const css = getComputedStyle(document.documentElement);
  const v = (name: string, fb: string) => css.getPropertyValue(name).trim() || fb;
  const levels = (kind: 'positive' | 'negative', fb: string) =>
    Array.from({ length: LEVELS }, (_, i) => v(`--vscode-attentionInspector-${kind}${i + 1}`, `rgba(${fb}, ${levelAlpha(i + 1).toFixed(3)})`));
  return {
    background: v('--vscode-editor-background', '#1e1e1e'),
    foreground: v('--vscode-editor-foreground', '#cccccc'),
    muted: v('--vscode-descriptionForeground', '#999999'),
    border: v('--vscode-panel-border', '#444444'),
    focus: v('--vscode-attentionInspector-focusBorder', v('--vscode-focusBorder', '#007fd4')),
    positive: levels('positive', FALLBACK_POS),
    negative: levels('negative', FALLBACK_NEG),
  };
}

/** The canvas font for labels: a CSS variable does not resolve in ctx.font, so the theme's editor font is read. */
export function labelFont(px: number): string {
  const family = getComputedStyle(document.body).getPropertyValue('--vscode-editor-font-family').trim() || 'monospace';
  return `${px}px ${family}`;
}

/** The fill for a weight, or null for untinted. */
export function colourOf(p: Palette, w: number, maxAbs: number): string | null {
  const l = levelOf(w, maxAbs);
  if (l === 0) return null;
  return l > 0 ? p.positive[l - 1] : p.negative[-l - 1];
}

/**
 * What the host, the build, the webview and the tests share about layer statistics: the per-row figures
 * (webview/engine/kernels/headStats.cpu.ts: entropy of A1, of A2, negative mass, small count, first-token weight, row
 * sum), the |a| under which an entry counts as small, and the stats graphs the build writes into dist/.
 */
export const ROW_STATS = 6;
export const SMALL = 1e-3;

export type StatsKind = 'softmax' | 'diff';
export const STATS_FILES: Record<StatsKind, string> = { softmax: 'stats-softmax.onnx', diff: 'stats-diff.onnx' };

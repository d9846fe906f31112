/**
 * What the editor tints with: the view (which function of the attention), the head selection (one head, or the
 * mean / signed max-|a| over heads, in one layer or all layers) and the direction. Pure: the host fetches the
 * rows or per-head vectors from the panel and reduces them here.
 */
export const WHAT_IF_IDS = ['diff', 'rectified', 'heaviside', 'softpick', 'shift', 'softmaxPlusOne', 'sigmoid', 'cog'] as const;

export type ViewId =
  | 'model'
  | 'a1'
  | 'lambdaA2'
  | `whatIf:${(typeof WHAT_IF_IDS)[number]}`
  | 'valueWeighted'
  | 'rollout:abs'
  | 'rollout:positive'
  | 'surprisal';

export interface ViewInfo {
  id: ViewId;
  label: string;
  detail: string;
  /** False for views that only exist for DIFF models. */
  softmax: boolean;
  /** False for views computed per query row only (no "attended by"). */
  columns: boolean;
  /** A view for comparison, not what the model computed. */
  whatIf: boolean;
}

export const VIEWS: readonly ViewInfo[] = [
  { id: 'model', label: 'A1 − λ·A2 (DIFF) / A (softmax)', detail: 'what the model computed', softmax: true, columns: true, whatIf: false },
  { id: 'a1', label: 'A1', detail: "DIFF's first softmax map", softmax: false, columns: false, whatIf: false },
  { id: 'lambdaA2', label: 'λ·A2', detail: "DIFF's subtracted map, scaled by the layer's λ", softmax: false, columns: false, whatIf: false },
  { id: 'whatIf:rectified', label: 'max(0, A1 − λ·A2)', detail: 'what-if view: rectified difference (exact zeros)', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:heaviside', label: 'A1 ⊙ H(A1 − λ·A2)', detail: 'what-if view: A1 kept only where the difference is positive', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:softpick', label: 'softpick relu(eˣ − 1)/Σ|eˣ − 1|', detail: 'what-if view: orthogonal or opposed keys get exactly 0', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:shift', label: '2·(A1 − ½)', detail: 'what-if view: a fixed shift, not a learned difference', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:softmaxPlusOne', label: 'eˣ/(1 + Σeˣ)', detail: 'what-if view: softmax plus one', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:sigmoid', label: 'σ(x − log n)', detail: 'what-if view: sigmoid attention', softmax: true, columns: false, whatIf: true },
  { id: 'whatIf:cog', label: 'sign(x)·softmax(|x|)', detail: 'what-if view: signed "cog" attention', softmax: true, columns: false, whatIf: true },
  { id: 'valueWeighted', label: 'value-weighted |a|·‖v W_O‖', detail: 'how much each key moves the output, per head', softmax: true, columns: false, whatIf: false },
  { id: 'rollout:abs', label: 'rollout on |A|', detail: 'Abnar & Zuidema rollout over all layers on |A| (a view, not the flow)', softmax: true, columns: false, whatIf: false },
  { id: 'rollout:positive', label: 'rollout on max(0, A)', detail: 'rollout over all layers on the positive part (a view, not the flow)', softmax: true, columns: false, whatIf: false },
  { id: 'surprisal', label: 'surprisal −log p', detail: 'each token tinted by how unexpected it was to the model (no hover needed)', softmax: true, columns: false, whatIf: false },
];

export const viewInfo = (id: ViewId): ViewInfo => VIEWS.find((v) => v.id === id) ?? VIEWS[0];
export const isViewId = (s: unknown): s is ViewId => VIEWS.some((v) => v.id === s);

export type HeadReduce = 'mean' | 'maxAbs';
export interface HeadSelection {
  layer: number | 'all';
  head: number | HeadReduce;
}
export type Direction = 'attendsTo' | 'attendedBy';

export function describeSelection(s: HeadSelection): string {
  const where = s.layer === 'all' ? 'all layers' : `layer ${s.layer}`;
  if (s.head === 'mean') return `${where} · mean over heads`;
  if (s.head === 'maxAbs') return `${where} · max |a| over heads`;
  return `${where} · head ${s.head}`;
}

/** The (layer, head) pairs a selection covers, for a model with `layers` × `heads`. */
export function selectedHeads(s: HeadSelection, layers: number, heads: number): [number, number][] {
  const ls = s.layer === 'all' ? Array.from({ length: layers }, (_, l) => l) : [s.layer];
  const hs = typeof s.head === 'number' ? [s.head] : Array.from({ length: heads }, (_, h) => h);
  for (const l of ls) if (l < 0 || l >= layers) throw new Error(`layer ${l} is outside 0..${layers - 1}`);
  for (const h of hs) if (h < 0 || h >= heads) throw new Error(`head ${h} is outside 0..${heads - 1}`);
  return ls.flatMap((l) => hs.map((h) => [l, h] as [number, number]));
}

/** Mean, or signed max-|a| (the entry of largest magnitude, with its sign), of rows of equal length. */
export function reduceRows(rows: readonly ArrayLike<number>[], how: HeadReduce): Float32Array {
  if (rows.length === 0) throw new Error('no rows to reduce');
  const T = rows[0].length;
  const out = new Float32Array(T);
  for (let j = 0; j < T; j++) {
    let acc = 0;
    for (const r of rows) {
      const v = r[j];
      if (how === 'mean') acc += v;
      else if (Math.abs(v) > Math.abs(acc)) acc = v;
    }
    out[j] = how === 'mean' ? acc / rows.length : acc;
  }
  return out;
}

/** Reduces a [layers · heads · T] array (a rows payload field) to one row for the selection. */
export function selectRow(data: Float32Array, layers: number, heads: number, T: number, s: HeadSelection): Float32Array {
  const pairs = selectedHeads(s, layers, heads);
  const rows = pairs.map(([l, h]) => data.subarray((l * heads + h) * T, (l * heads + h + 1) * T));
  return rows.length === 1 ? Float32Array.from(rows[0]) : reduceRows(rows, s.head === 'maxAbs' ? 'maxAbs' : 'mean');
}

/** λ·A2 from the rows payload: A1 − (A1 − λ·A2). */
export function lambdaA2(a1: Float32Array, a: Float32Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a1[i] - a[i];
  return out;
}

/**
 * Opens a user's ONNX causal language model for inspection (issue 6): finds each layer's decomposed attention
 * (Softmax ← mask/scale ← MatMul(Q, Kᵀ)), exposes the MatMul's Q and K (so after RoPE, whatever its style) and, for
 * differential attention, λ, as extra graph outputs, and writes the manifest that describes them.
 *
 * The model's bytes are not re-encoded: the new nodes and outputs are appended as a second serialised ModelProto.
 * Protobuf merges a repeated message field that occurs twice, so the result is the original graph (every field, even
 * those our schema subset does not know) plus our additions, and appended nodes only read existing tensors, so the
 * graph stays topologically sorted.
 */
import { ModelProto } from './modelBuilder';
import { ElemType, GraphModel, type NodeP } from './graphModel';
import { checkWeights, elemName, shortName } from './weightCheck';

/** Fused attention operators whose weights never exist as a tensor in the graph. */
export const FUSED_ATTENTION_OPS = [
  'Attention',
  'MultiHeadAttention',
  'GroupQueryAttention',
  'PackedAttention',
  'PackedMultiHeadAttention',
  'SparseAttention',
  'DecoderAttention',
  'DecoderMaskedMultiHeadAttention',
  'DecoderMaskedSelfAttention',
  'LongformerAttention',
  'QAttention',
  'QOrderedAttention',
];

export const EAGER_EXPORT_HELP =
  'Export the model with eager (decomposed) attention instead: with transformers, load it with ' +
  'attn_implementation="eager" and export without ONNX Runtime\'s transformer optimizer (for optimum-cli: ' +
  '`optimum-cli export onnx --model <id> --task text-generation --no-post-process <dir>`), or write a model package ' +
  'with Q/K outputs with the exporter in Attention Inspector\'s repository (`python3 training/export_model.py --help`).';

export class RewriteError extends Error {}

/** The fields of a Hugging Face config.json that the rewriter reads. */
export interface ModelConfig {
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  hiddenSize?: number;
  layers?: number;
  vocabSize?: number;
  maxContext?: number;
}

export function readHfConfig(json: unknown): ModelConfig {
  const c = (json && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  const num = (...keys: string[]) => {
    for (const k of keys) if (typeof c[k] === 'number' && Number.isFinite(c[k])) return c[k] as number;
    return undefined;
  };
  const heads = num('num_attention_heads', 'n_head', 'n_heads');
  const hiddenSize = num('hidden_size', 'n_embd', 'd_model');
  return {
    heads,
    kvHeads: num('num_key_value_heads', 'n_kv_head'),
    headDim: num('head_dim') ?? (heads && hiddenSize ? hiddenSize / heads : undefined),
    hiddenSize,
    layers: num('num_hidden_layers', 'n_layer', 'n_layers'),
    vocabSize: num('vocab_size'),
    maxContext: num('max_position_embeddings', 'n_positions', 'n_ctx', 'block_size'),
  };
}

export interface FoundAttention {
  softmax: string;
  /** The Softmax's output: the layer's attention as the graph computed it. */
  probs: string;
  /** The MatMul's first input: Q [batch, head, token, dim] (or [head, token, dim]). */
  q: string;
  /** The MatMul's second input: Kᵀ; `k` is the tensor before a [0,1,3,2] transpose when there is one. */
  kT: string;
  k?: string;
  rank: number;
  /** Everything multiplied onto Q·Kᵀ between the MatMul and the Softmax; NaN when it is computed at run time. */
  scale: number;
  /** Tensors derived from `probs` by reshaping and slicing, and the head pairing those operations imply. */
  derived: Set<string>;
  pairing: 'adjacent' | 'halves' | undefined;
  diff?: { lambda: string; a2: string; pairing: 'adjacent' | 'halves'; perToken: boolean };
  /** DIFF computed with two softmaxes: the one that gives A2 (its Q/K are the second half of the layer's heads). */
  second?: FoundAttention;
}

const PASS_FORWARD = new Set(['Reshape', 'Split', 'Slice', 'Gather', 'Squeeze', 'Unsqueeze', 'Cast', 'Identity']);

/** Traces the Softmax's input back to the MatMul of Q and Kᵀ through scale and mask operators. */
function traceScores(g: GraphModel, t: string, depth = 0): { matmul: NodeP; scale: number; masked: boolean } | undefined {
  const n = g.producer.get(t);
  if (!n || depth > 12) return undefined;
  const ins = n.input ?? [];
  switch (n.op_type) {
    case 'MatMul':
      return g.constant(ins[1]) || g.initializers.has(ins[1]) ? undefined : { matmul: n, scale: 1, masked: false };
    case 'Cast':
    case 'Identity':
      return traceScores(g, ins[0], depth + 1);
    case 'Mul':
    case 'Div': {
      for (const side of [1, 0]) {
        const c = g.scalar(ins[side]);
        if (c === undefined || (n.op_type === 'Div' && side === 0)) continue;
        const r = traceScores(g, ins[1 - side], depth + 1);
        if (r) return { ...r, scale: r.scale * (n.op_type === 'Mul' ? c : 1 / c) };
      }
      for (const i of ins) {
        const r = traceScores(g, i, depth + 1);
        if (r) return { ...r, scale: Number.NaN };
      }
      return undefined;
    }
    case 'Add':
    case 'Sub':
      for (const [side, other] of [[0, 1], [1, 0]] as const) {
        const r = traceScores(g, ins[side], depth + 1);
        if (r) return { ...r, masked: r.masked || g.scalar(ins[other]) === undefined };
      }
      return undefined;
    case 'Where':
      for (const side of [1, 2]) {
        const r = traceScores(g, ins[side], depth + 1);
        if (r) return { ...r, masked: true };
      }
      return undefined;
    default:
      return undefined;
  }
}

/** The tensors derived from a Softmax's output by reshaping and slicing, and the head pairing those operations imply. */
function derivedFrom(g: GraphModel, probs: string): { derived: Set<string>; pairing: 'adjacent' | 'halves' | undefined } {
  const derived = new Set([probs]);
  let pairing: 'adjacent' | 'halves' | undefined;
  const queue = [probs];
  while (queue.length && derived.size < 64) {
    const t = queue.shift()!;
    for (const c of g.consumers.get(t) ?? []) {
      if (!PASS_FORWARD.has(c.op_type)) continue;
      if (c.op_type === 'Reshape') {
        const shape = g.partialShape(c.input![1]);
        if (shape && shape.length === 5 && shape[2] === 2) pairing ??= 'adjacent';
      }
      if (c.op_type === 'Split' && (g.attr(c, 'axis')?.i ?? 0) === 1) pairing ??= 'halves';
      if (c.op_type === 'Slice' && g.constant(c.input![3] ?? '')?.[0] === 1) {
        // Strided slices (0::2, 1::2) take adjacent heads; contiguous ones (:h, h:) take halves.
        const step = c.input![4] ? g.constant(c.input![4])?.[0] : 1;
        pairing ??= step === 2 ? 'adjacent' : step === 1 ? 'halves' : undefined;
      }
      for (const o of c.output ?? []) {
        if (!derived.has(o)) {
          derived.add(o);
          queue.push(o);
        }
      }
    }
  }
  return { derived, pairing };
}

/** The Sub(A1, Mul(λ, A2)) that combines two maps, with A1 among `first` and A2 among `second`. */
function findSubtraction(g: GraphModel, first: Set<string>, second: Set<string>): { lambda: string; a2: string } | undefined {
  for (const t of first) {
    for (const sub of g.consumers.get(t) ?? []) {
      if (sub.op_type !== 'Sub' || sub.input![0] !== t) continue;
      const mul = g.producer.get(sub.input![1]);
      if (!mul || mul.op_type !== 'Mul') continue;
      const [x, y] = mul.input!;
      const a2 = second.has(x) ? x : second.has(y) ? y : undefined;
      if (a2) return { lambda: a2 === x ? y : x, a2 };
    }
  }
  return undefined;
}

/** Follows a Softmax's output to A1 − λ·A2: returns λ, the A2 tensor and how the heads pair, when it is there. */
function traceDifference(g: GraphModel, { derived, pairing }: Pick<FoundAttention, 'derived' | 'pairing'>, ids: Set<string>): FoundAttention['diff'] {
  const sub = findSubtraction(g, derived, derived);
  if (!sub) return undefined;
  if (!pairing) throw new RewriteError('the graph subtracts two attention maps, but how their heads pair (adjacent or halves) could not be read from it; export it with the exporter in Attention Inspector\'s repository (training/export_model.py), which records the pairing');
  return { ...sub, pairing, perToken: g.dependsOn(sub.lambda, ids) };
}

/** Every decomposed attention in node order (one per layer), or a RewriteError that says why the graph cannot be read. */
export function findAttention(g: GraphModel, idsName: string): FoundAttention[] {
  const fused = g.nodes.filter((n) => FUSED_ATTENTION_OPS.includes(n.op_type));
  if (fused.length) {
    const ops = [...new Set(fused.map((n) => `${n.domain ? `${n.domain}.` : ''}${n.op_type}`))].join(', ');
    throw new RewriteError(`the graph computes attention with the fused operator ${ops} (${fused.length} nodes), so the attention weights never exist as a tensor that could be read. ${EAGER_EXPORT_HELP}`);
  }
  if (g.nodes.some((n) => n.op_type === 'If' || n.op_type === 'Loop') && !g.nodes.some((n) => n.op_type === 'Softmax')) {
    throw new RewriteError(`the graph's attention is inside an If or Loop subgraph (a merged decoder with a past-key-value branch). Export it as one graph: without past key values (optimum-cli --task text-generation), or with them but without the merged If branch (past_key_values.* inputs and present.* outputs in one graph, which the inspector runs in chunks). ${EAGER_EXPORT_HELP}`);
  }
  const ids = new Set([idsName]);
  const found: FoundAttention[] = [];
  for (const sm of g.nodes.filter((n) => n.op_type === 'Softmax')) {
    const tr = traceScores(g, sm.input![0]);
    if (!tr) continue; // a softmax that is not attention (a router, a classifier head)
    const axis = g.attr(sm, 'axis')?.i;
    const [qName, kTName] = tr.matmul.input!;
    const rank = g.rank(qName) ?? g.rank(kTName) ?? 4;
    if (!(axis === -1 || axis === rank - 1 || (axis === undefined && g.opset >= 13))) {
      throw new RewriteError(`Softmax ${shortName(sm.name)} normalises over axis ${axis ?? '1 (the default before opset 13)'}, not the last one; this is not attention as the inspector reads it`);
    }
    if (!tr.masked) {
      throw new RewriteError(`Softmax ${shortName(sm.name)} has no attention mask between it and Q·Kᵀ: the model is not a causal language model (or its mask is applied in a way the inspector does not read). Attention Inspector analyses causal (decoder-only) models.`);
    }
    const kp = g.producer.get(kTName);
    const swapLast = (p: number[] | undefined) => !!p && p.length === rank && p.every((v, i) => (i < rank - 2 ? v === i : v === (i === rank - 2 ? rank - 1 : rank - 2)));
    const k = kp?.op_type === 'Transpose' && swapLast(g.attr(kp, 'perm')?.ints?.map(Number)) ? kp.input![0] : undefined;
    const f: FoundAttention = { softmax: sm.name ?? '', probs: sm.output![0], q: qName, kT: kTName, k, rank, scale: tr.scale, ...derivedFrom(g, sm.output![0]) };
    f.diff = traceDifference(g, f, ids);
    found.push(f);
  }
  pairSeparateSoftmaxes(g, found, ids);
  for (const f of found) if (!f.diff) checkWeightsUsedAsIs(g, f);
  if (!found.length) {
    throw new RewriteError(`no decomposed attention (Softmax over a masked, scaled MatMul of Q and Kᵀ) was found in the graph's ${g.nodes.length} nodes. ${EAGER_EXPORT_HELP}`);
  }
  return found;
}

/**
 * DIFF written with two softmaxes per layer (A1 = softmax(Q1·K1ᵀ), A2 = softmax(Q2·K2ᵀ), then A1 − λ·A2): the second
 * softmax joins the first as its `second`, and the layer's Q/K become [Q1; Q2] along the head axis ("halves").
 */
function pairSeparateSoftmaxes(g: GraphModel, found: FoundAttention[], ids: Set<string>): void {
  for (const f of [...found]) {
    if (f.diff || f.second || !found.includes(f)) continue;
    for (const other of found) {
      if (other === f || other.diff || other.second) continue;
      const sub = findSubtraction(g, f.derived, other.derived);
      if (!sub) continue;
      f.second = other;
      f.diff = { ...sub, pairing: 'halves', perToken: g.dependsOn(sub.lambda, ids) };
      found.splice(found.indexOf(other), 1);
      break;
    }
  }
}

/** What may read a plain softmax's weights without changing them: reshaping, slicing, casting, and the MatMul with V. */
const READS_AS_IS = new Set([...PASS_FORWARD, 'Dropout', 'Concat', 'Transpose']);

/**
 * A layer read as plain softmax attention must use its softmax's weights as they are. If the graph changes them
 * first (scales, adds, subtracts in a way the rewriter did not recognise as DIFF), what the inspector would show is
 * not what the model used: refuse instead.
 */
function checkWeightsUsedAsIs(g: GraphModel, f: FoundAttention): void {
  for (const t of f.derived) {
    for (const c of g.consumers.get(t) ?? []) {
      if (READS_AS_IS.has(c.op_type) || (c.op_type === 'MatMul' && c.input![0] === t)) continue;
      throw new RewriteError(`the attention weights of Softmax ${shortName(f.softmax)} go through ${c.op_type} "${c.name ?? ''}" before they mix the values, so the weights the model uses are not the softmax the inspector would show (a difference of maps or a re-weighting it does not recognise). Export it with the exporter in Attention Inspector's repository (training/export_model.py), which records what it computes.`);
    }
  }
}

/** Heads and head width from a Reshape of Q to [batch, token, heads, dim] within a few nodes before the MatMul. */
function headsFromGraph(g: GraphModel, q: string): { heads: number; headDim: number } | undefined {
  let t = q;
  for (let i = 0; i < 16; i++) {
    const p = g.producer.get(t);
    if (!p) return undefined;
    if (p.op_type === 'Reshape') {
      const s = g.constant(p.input![1]);
      if (s && s.length === 4 && s[2] > 0 && s[3] > 0) return { heads: s[2], headDim: s[3] };
      if (s && s.length === 4 && s[1] > 0 && s[3] > 0) return { heads: s[1], headDim: s[3] };
    }
    t = p.input![0];
  }
  return undefined;
}

export interface RewriteOptions {
  name: string;
  displayName: string;
  sourcePath: string;
  config?: ModelConfig;
  tokenizerVocab: number;
  files: { onnx: string; tokenizer: string };
}

export interface RewriteResult {
  bytes: Uint8Array;
  /** A manifest object for parseManifest (which checks it like any package's); its source.notes say what was assumed. */
  manifest: Record<string, unknown>;
}

const OUT = 'attention_inspector';

/** Rewrites the graph so its attention can be inspected, or throws a RewriteError that says why and what to do. */
export function rewriteForInspection(bytes: Uint8Array, o: RewriteOptions): RewriteResult {
  const g = new GraphModel(bytes);
  const notes: string[] = [];
  const idsInput = g.inputs.find((i) => i.name === 'input_ids') ?? g.inputs.find((i) => i.elemType === ElemType.INT64 && /ids|tokens|input/.test(i.name));
  const inputList = () => g.inputs.slice(0, 8).map((i) => `${shortName(i.name)} (${elemName(i.elemType)})`).join(', ') + (g.inputs.length > 8 ? ` and ${g.inputs.length - 8} more` : '');
  if (!idsInput) throw new RewriteError(`the graph has no token-id input (int64 "input_ids"); its inputs are ${inputList() || 'none'}`);
  if (idsInput.elemType !== ElemType.INT64) {
    throw new RewriteError(`graph input ${shortName(idsInput.name)} holds ${elemName(idsInput.elemType)}; the inspector feeds token ids as int64 (ONNX element type 7), as transformers and torch.onnx export them. Export the model with int64 input_ids`);
  }
  const weights = checkWeights(g);
  if (weights.errors.length) throw new RewriteError(weights.errors.join('; '));
  notes.push(...weights.notes);
  for (const t of g.initializers.values()) {
    if (t.data_type === ElemType.FLOAT16 || t.data_type === ElemType.BFLOAT16) {
      throw new RewriteError(`the model's weights are in ${t.data_type === ElemType.FLOAT16 ? 'float16' : 'bfloat16'} (e.g. ${shortName(t.name)}); the inspector reads float32 models: export in float32`);
    }
  }
  const extra = g.inputs.filter((i) => i.name !== idsInput.name).map((i) => extraInput(i));
  const found = findAttention(g, idsInput.name);
  const logits = g.outputs.find((x) => x.name === 'logits') ?? g.outputs[0];
  if (!logits) throw new RewriteError('the graph has no outputs');

  const kinds = new Set(found.map((f) => (f.diff ? (f.diff.perToken ? 'diff-v2' : 'diff-v1') : 'softmax')));
  if (kinds.size > 1) throw new RewriteError(`the layers mix attention kinds (${[...kinds].join(', ')}); the inspector reads models whose layers all use one kind`);
  const attention = [...kinds][0] as 'softmax' | 'diff-v1' | 'diff-v2';
  const scales = found.map((f) => f.scale);
  // Without one constant scale, Q and K cannot give the weights: they are read from the softmax outputs instead.
  let readFrom: 'qk' | 'probs' = 'qk';
  if (scales.some((s) => !Number.isFinite(s))) {
    readFrom = 'probs';
    notes.push('the scale between Q·Kᵀ and the softmax is computed at run time, so attention is read from the softmax outputs (full maps: shorter inputs)');
  } else if (scales.some((s) => Math.abs(s - scales[0]) > 1e-6 * Math.abs(scales[0]))) {
    readFrom = 'probs';
    notes.push(`the layers use different attention scales (${scales.join(', ')}), so attention is read from the softmax outputs (full maps: shorter inputs)`);
  }
  const ranks = new Set(found.map((f) => f.rank));
  if (ranks.size > 1) throw new RewriteError('the layers lay out Q and K differently');
  const rank = found[0].rank;
  if (rank !== 4 && rank !== 3) throw new RewriteError(`Q·Kᵀ is computed on rank-${rank} tensors; the inspector reads [batch, head, token, dim] or [head, token, dim]`);
  const diff = found[0].diff;
  const pairing = attention === 'softmax' ? 'none' : attention === 'diff-v2' ? 'adjacent-query' : diff!.pairing === 'halves' ? 'halves' : 'interleaved';
  if (attention === 'diff-v2' && diff!.pairing !== 'adjacent') throw new RewriteError('a DIFF V2 graph (λ per token) pairs adjacent query heads; this one pairs them otherwise');

  const c = o.config ?? {};
  const fromGraph = headsFromGraph(g, found[0].q);
  // With two softmaxes per layer, the graph's reshape of Q gives one map's heads; the layer has twice as many Q/K heads.
  const merged = found.some((f) => f.second);
  if (merged && !found.every((f) => f.second)) throw new RewriteError('some layers compute A1 and A2 with two softmaxes and others with one; the inspector reads models whose layers all do the same');
  if (merged && found.some((f) => Math.abs(f.second!.scale - f.scale) > 1e-6 * Math.abs(f.scale))) throw new RewriteError('the two softmaxes of a layer use different scales, which a manifest cannot describe');
  const qkHeads = merged ? (fromGraph ? 2 * fromGraph.heads : c.heads) : c.heads ?? fromGraph?.heads;
  const headDim = c.headDim ?? fromGraph?.headDim;
  if (!qkHeads || !headDim) throw new RewriteError('the number of attention heads could not be read from the graph; put the model\'s config.json (num_attention_heads, hidden_size) beside it');
  if (fromGraph && c.heads && fromGraph.heads !== c.heads && fromGraph.heads !== c.kvHeads) notes.push(`config.json says ${c.heads} heads, the graph reshapes Q into ${fromGraph.heads}; config.json was used`);
  if (c.layers && c.layers !== found.length) throw new RewriteError(`config.json says ${c.layers} layers but the graph has ${found.length} attention softmaxes`);
  const heads = attention === 'softmax' ? qkHeads : qkHeads / 2;
  if (!Number.isInteger(heads)) throw new RewriteError(`differential attention needs an even number of Q heads; the model has ${qkHeads}`);
  let maxContext = c.maxContext;
  if (!maxContext) {
    maxContext = 2048;
    notes.push('config.json gives no maximum context; 2048 tokens assumed');
  }

  // The additions: Identity nodes give the tensors our per-layer names; K gets a transpose where the graph has none.
  const nodes: { name: string; op_type: string; input: string[]; output: string[]; attribute?: unknown[] }[] = [];
  const outputs: { name: string; type: unknown }[] = [];
  const initializer: unknown[] = [];
  const used = g.tensorNames;
  const fresh = (base: string) => {
    let n = base;
    for (let i = 1; used.has(n); i++) n = `${base}_${i}`;
    used.add(n);
    return n;
  };
  const output = (name: string) => outputs.push({ name, type: { tensor_type: { elem_type: ElemType.FLOAT } } });
  const identity = (input: string, name: string) => {
    nodes.push({ name: fresh(`${name}/node`), op_type: 'Identity', input: [input], output: [name] });
    output(name);
  };
  /** One int64 initializer per value list, shared by every layer that needs it. */
  const int64s = new Map<string, string>();
  const int64 = (values: number[]) => {
    let n = int64s.get(values.join(','));
    if (!n) {
      n = fresh(`${OUT}/c/${values.join('_')}`);
      int64s.set(values.join(','), n);
      initializer.push({ name: n, dims: [values.length], data_type: ElemType.INT64, raw_data: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
    }
    return n;
  };
  const swap = rank === 4 ? [0, 1, 3, 2] : [0, 2, 1];
  /** K of one softmax as [.., head, token, dim]: the tensor before the graph's own transpose, or our transpose of Kᵀ. */
  const kOf = (f: FoundAttention, name: string) => {
    if (f.k) return f.k;
    nodes.push({ name: fresh(`${name}/transpose`), op_type: 'Transpose', input: [f.kT], output: [name], attribute: [{ name: 'perm', type: 7, ints: swap }] });
    return name;
  };
  const headAxis = rank === 4 ? 1 : 0;
  const concat = (a: string, b: string, name: string) => {
    nodes.push({ name: fresh(`${name}/concat`), op_type: 'Concat', input: [a, b], output: [name], attribute: [{ name: 'axis', type: 2, i: headAxis }] });
    output(name);
  };
  const cache = readFrom === 'qk' ? cacheOf(g, extra, found.length) : undefined;
  if (cache) notes.push(`the graph takes a key/value cache (${shortName(cache.key.past.replace('{layer}', '0'))} … → ${shortName(cache.key.present.replace('{layer}', '0'))} …): long inputs run in chunks if a check of the chunks against one pass agrees when the model loads`);
  /** With a cache, the K at Q·Kᵀ spans past + fed tokens; the inspector gathers K per chunk, so only the fed tokens' rows. */
  const fedRows = (k: string, q: string, name: string) => {
    const shape = fresh(`${name}/q_shape`);
    const rows = fresh(`${name}/q_rows`);
    const start = fresh(`${name}/start`);
    nodes.push({ name: fresh(`${shape}/node`), op_type: 'Shape', input: [q], output: [shape] });
    nodes.push({ name: fresh(`${rows}/node`), op_type: 'Slice', input: [shape, int64([-2]), int64([-1]), int64([0])], output: [rows] });
    nodes.push({ name: fresh(`${start}/node`), op_type: 'Neg', input: [rows], output: [start] });
    nodes.push({ name: fresh(`${name}/node`), op_type: 'Slice', input: [k, start, int64([2 ** 53 - 1]), int64([-2])], output: [name] });
    output(name);
  };
  /** K of one softmax under our name: all of it, or the fed tokens' rows where the graph takes a cache. */
  const kOutput = (f: FoundAttention, name: string) => {
    if (cache) fedRows(kOf(f, fresh(`${name}/all`)), f.q, name);
    else if (f.k) identity(f.k, name);
    else {
      kOf(f, name);
      output(name);
    }
  };
  found.forEach((f, l) => {
    const s2 = f.second;
    if (s2) {
      concat(f.q, s2.q, `${OUT}/q_${l}`);
      concat(f.probs, s2.probs, `${OUT}/probs_${l}`);
      const [k1, k2] = [kOf(f, fresh(`${OUT}/k1_${l}`)), kOf(s2, fresh(`${OUT}/k2_${l}`))];
      if (cache) {
        const all = fresh(`${OUT}/k_${l}/all`);
        nodes.push({ name: fresh(`${all}/concat`), op_type: 'Concat', input: [k1, k2], output: [all], attribute: [{ name: 'axis', type: 2, i: headAxis }] });
        fedRows(all, f.q, `${OUT}/k_${l}`);
      } else concat(k1, k2, `${OUT}/k_${l}`);
    } else {
      identity(f.q, `${OUT}/q_${l}`);
      identity(f.probs, `${OUT}/probs_${l}`);
      kOutput(f, `${OUT}/k_${l}`);
    }
    if (f.diff) {
      // λ broadcast to [batch, head, token, 1] whatever its own shape (a scalar for V1, per token and head for V2).
      const shape = fresh(`${OUT}/lambda_${l}/shape`);
      const lead = fresh(`${OUT}/lambda_${l}/lead`);
      const rows = fresh(`${OUT}/lambda_${l}/rows`);
      const target = fresh(`${OUT}/lambda_${l}/target`);
      nodes.push({ name: fresh(`${shape}/node`), op_type: 'Shape', input: [f.diff.a2], output: [shape] });
      nodes.push({ name: fresh(`${lead}/node`), op_type: 'Slice', input: [shape, int64([0]), int64([2]), int64([0])], output: [lead] });
      nodes.push({ name: fresh(`${rows}/node`), op_type: 'Slice', input: [shape, int64([-2]), int64([-1]), int64([0])], output: [rows] });
      nodes.push({ name: fresh(`${target}/node`), op_type: 'Concat', input: [lead, rows, int64([1])], output: [target], attribute: [{ name: 'axis', type: 2, i: 0 }] });
      nodes.push({ name: fresh(`${OUT}/lambda_${l}/node`), op_type: 'Expand', input: [f.diff.lambda, target], output: [`${OUT}/lambda_${l}`] });
      output(`${OUT}/lambda_${l}`);
    }
  });
  const addition = ModelProto.encode(ModelProto.fromObject({ graph: { node: nodes, output: outputs, initializer } })).finish();
  const out = new Uint8Array(bytes.byteLength + addition.byteLength);
  out.set(bytes, 0);
  out.set(addition, bytes.byteLength);

  // With a cache, its past inputs are fed by the cache, and an attention mask covers the cached tokens too.
  const fedExtra = cache
    ? extra.filter((x) => !isCachePast(x.name, cache)).map((x) => (x.fill === 'ones' ? { ...x, dims: x.dims.map((d) => (d === 'token' ? 'past+token' : d)) } : x))
    : extra;
  const qkLayout = rank === 4 ? ['batch', 'qkHead', 'token', 'dim'] : ['qkHead', 'token', 'dim'];
  let parameters = 0;
  for (const t of g.initializers.values()) parameters += (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
  const manifest: Record<string, unknown> = {
    formatVersion: 1,
    name: o.name,
    displayName: o.displayName,
    description: `${o.sourcePath}, rewritten by Attention Inspector to output each layer's Q and K${attention === 'softmax' ? '' : ' and λ'}.`,
    attention,
    pairing,
    rope: { style: 'unknown' },
    layers: found.length,
    heads,
    qkHeads,
    headDim,
    dModel: c.hiddenSize ?? qkHeads * headDim,
    vocabSize: Math.max(c.vocabSize ?? 0, o.tokenizerVocab),
    maxContext,
    scale: readFrom === 'qk' ? scales[0] : 1,
    ...(readFrom === 'probs' ? { readFrom } : {}),
    files: o.files,
    inputs: { ids: { name: idsInput.name, layout: ['batch', 'token'], dtype: 'int64' }, ...(fedExtra.length ? { extra: fedExtra } : {}) },
    outputs: {
      logits: { name: logits.name, layout: ['batch', 'token', 'vocab'] },
      q: { name: `${OUT}/q_{layer}`, layout: qkLayout },
      k: { name: `${OUT}/k_{layer}`, layout: qkLayout },
      probs: { name: `${OUT}/probs_{layer}`, layout: rank === 4 ? ['batch', 'qkHead', 'token', 'key'] : ['qkHead', 'token', 'key'] },
      ...(attention === 'softmax' ? {} : { lambda: { name: `${OUT}/lambda_{layer}`, layout: ['batch', 'head', 'token', 'one'] } }),
    },
    ...(cache ? { cache } : {}),
    parameters: Math.max(1, parameters),
    training: {},
    evaluation: {},
    source: { kind: 'rewritten-onnx', path: o.sourcePath, notes },
  };
  return { bytes: out, manifest };
}

/** How the engine feeds a graph input other than the ids, from its name and declared shape. */
function extraInput(i: { name: string; elemType: number | undefined; dims: (number | string)[] }) {
  const dtype = i.elemType === ElemType.INT64 ? 'int64' : i.elemType === ElemType.INT32 ? 'int32' : i.elemType === ElemType.FLOAT ? 'float32' : undefined;
  if (!dtype) throw new RewriteError(`graph input ${shortName(i.name)} has element type ${i.elemType}, which the inspector cannot feed`);
  if (/attention_mask/.test(i.name)) return { name: i.name, fill: 'ones', dtype, dims: ['batch', 'token'] };
  if (/position_ids/.test(i.name)) return { name: i.name, fill: 'positions', dtype, dims: ['batch', 'token'] };
  if (/past|cache/.test(i.name) && i.dims.length === 4) {
    const dims = i.dims.map((d, ax) => (typeof d === 'number' && d > 0 ? d : ax === 0 ? 'batch' : ax === 2 ? 'past' : undefined));
    if (dims.every((d) => d !== undefined)) return { name: i.name, fill: 'empty', dtype, dims: dims as (number | string)[] };
  }
  throw new RewriteError(`graph input ${shortName(i.name)} (dims ${i.dims.join('×') || 'unknown'}) is neither input_ids, attention_mask, position_ids nor a past key/value cache; the inspector does not know what to feed it`);
}

type CacheSpec = { past: string; present: string; dtype: 'float32'; dims: (number | 'batch' | 'past')[] };

/** A per-layer name with its first number replaced by "{layer}", and whether it names keys or values (the later word wins: past_key_values.0.value). */
function layerTemplate(name: string): { template: string; layer: number; kind: 'key' | 'value' } | undefined {
  const m = /\d+/.exec(name);
  if (!m) return undefined;
  const [k, v] = [name.toLowerCase().lastIndexOf('key'), name.toLowerCase().lastIndexOf('value')];
  if (k < 0 && v < 0) return undefined;
  return { template: name.slice(0, m.index) + '{layer}' + name.slice(m.index + m[0].length), layer: Number(m[0]), kind: k > v ? 'key' : 'value' };
}

const isCachePast = (name: string, c: { key: CacheSpec; value: CacheSpec }) => [c.key.past, c.value.past].some((t) => layerTemplate(name)?.template === t);

/**
 * The key/value cache of a graph exported "with past" (Hugging Face: past_key_values.{l}.key/value in,
 * present.{l}.key/value out): one past input and one present output per layer for keys and for values, with one
 * "past" axis. Anything less regular is not a cache the engine can feed, and the graph keeps its one pass.
 */
function cacheOf(g: GraphModel, extra: ReturnType<typeof extraInput>[], layers: number): { key: CacheSpec; value: CacheSpec } | undefined {
  const pasts = extra.filter((x) => x.fill === 'empty' && x.dtype === 'float32');
  if (pasts.length !== 2 * layers) return undefined;
  const group = (names: string[]) => {
    const byKind = new Map<string, Set<number>>();
    for (const n of names) {
      const t = layerTemplate(n);
      if (!t) return undefined;
      const id = `${t.kind}\u0000${t.template}`;
      if (!byKind.has(id)) byKind.set(id, new Set());
      byKind.get(id)!.add(t.layer);
    }
    const out: Partial<Record<'key' | 'value', string>> = {};
    for (const [id, ls] of byKind) {
      const [kind, template] = id.split('\u0000') as ['key' | 'value', string];
      if (out[kind] || ls.size !== layers || [...ls].some((l) => l >= layers)) return undefined;
      out[kind] = template;
    }
    return out.key && out.value ? (out as Record<'key' | 'value', string>) : undefined;
  };
  const past = group(pasts.map((x) => x.name));
  const present = group(g.outputs.map((o) => o.name).filter((n) => /present/i.test(n)));
  if (!past || !present) return undefined;
  const spec = (kind: 'key' | 'value'): CacheSpec | undefined => {
    const x = pasts.find((p) => layerTemplate(p.name)?.template === past[kind])!;
    const dims = x.dims.map((d) => (d === 'batch' || d === 'past' ? d : typeof d === 'number' && d > 0 ? d : undefined));
    if (dims.some((d) => d === undefined) || dims.filter((d) => d === 'past').length !== 1) return undefined;
    return { past: past[kind], present: present[kind], dtype: 'float32', dims: dims as CacheSpec['dims'] };
  };
  const [key, value] = [spec('key'), spec('value')];
  return key && value ? { key, value } : undefined;
}

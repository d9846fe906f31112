/**
 * The model package contract (DESIGN.md §4): a folder with manifest.json, an ONNX graph and an HF tokenizer.json.
 * The manifest, not code, says how the graph's outputs are laid out. This zod schema is the single source of truth:
 * media/models/manifest.schema.json is generated from it (and a unit test keeps the two equal).
 */
import * as z from 'zod';

const name = z.string().min(1).max(200);
const positiveInt = z.number().int().positive();

/**
 * Upper bounds on every size a manifest declares, checked before anything is allocated from them (a manifest that
 * declares five million layers must be refused at once, not after building five million output names). Each is far
 * above any model that runs in an editor today (Llama 3.1 405B: 126 layers, 128 heads of 128, vocabulary 128,256).
 */
export const MANIFEST_LIMITS = {
  layers: 1024,
  heads: 1024,
  qkHeads: 2048,
  headDim: 4096,
  dModel: 262_144,
  vocabSize: 4_194_304,
  maxContext: 1_048_576,
  /** Items in any list (layouts, λ per layer, extra inputs, notes). */
  listItems: 1024,
  /** A fixed (numeric) dimension of an extra input the engine fills. */
  extraDim: 65_536,
} as const;
const bounded = (max: number) => positiveInt.max(max);
/** Axis names of a tensor, outermost first, e.g. ["batch", "qkHead", "token", "dim"]. */
/** "key" is the second token axis of a full attention map. */
const layout = z.array(z.enum(['batch', 'token', 'key', 'vocab', 'head', 'qkHead', 'dim', 'one'])).min(1).max(8);
const tensor = z.object({ name, layout }).strict();
/**
 * A graph input besides the ids, fed by the engine: "ones" (an attention mask), "positions" (0..T−1), "empty" (a
 * past key/value cache of length 0). Dims name "batch" (1), "token" (T), "past" (0), "past+token" (the cached tokens
 * and the ones fed: the attention mask of a graph with a key/value cache) or give a number.
 */
const extraInput = z
  .object({
    name,
    fill: z.enum(['ones', 'positions', 'empty']),
    dtype: z.enum(['int64', 'int32', 'float32']),
    dims: z.array(z.union([z.number().int().nonnegative().max(MANIFEST_LIMITS.extraDim), z.enum(['batch', 'token', 'past', 'past+token'])])).min(1).max(8),
  })
  .strict();
/** A per-layer tensor: `name` holds "{layer}", replaced by the 0-based layer index. */
const perLayerName = name.regex(/\{layer\}/, 'must contain "{layer}"');
const perLayer = z.object({ name: perLayerName, layout }).strict();
/**
 * One half of a key/value cache: per layer, the graph input `past` (the keys or values of the tokens before the ones
 * fed) and the output `present` (past plus the tokens fed), with the input's dims ("batch" 1, "past" the cached
 * length, numbers for heads and width). The engine feeds an empty past first and each chunk's present to the next.
 */
const cacheTensor = z
  .object({
    past: perLayerName,
    present: perLayerName,
    dtype: z.enum(['float32', 'float16']),
    dims: z.array(z.union([z.number().int().positive().max(MANIFEST_LIMITS.extraDim), z.enum(['batch', 'past'])])).min(2).max(8),
  })
  .strict();

export const ManifestSchema = z
  .object({
    formatVersion: z.literal(1),
    name,
    displayName: name,
    description: z.string().max(10_000),
    attention: z.enum(['softmax', 'diff-v1', 'diff-v2']),
    /** How Q/K sub-heads pair into A1/A2: "interleaved" (2i, 2i+1; the DIFF reference code), "halves" (i, i+h;
     * DiffLlama), "adjacent-query" (DIFF V2), "none" for softmax models. */
    pairing: z.enum(['none', 'interleaved', 'halves', 'adjacent-query']),
    /** "unknown" for graphs rewritten by the extension: their Q/K are read after RoPE, whatever its style. */
    rope: z.object({ style: z.enum(['interleaved', 'neox', 'none', 'unknown']), theta: z.number().positive().optional() }).strict(),
    layers: bounded(MANIFEST_LIMITS.layers),
    /** Attention heads as the model mixes values: H for softmax, h = H/2 for DIFF V1. */
    heads: bounded(MANIFEST_LIMITS.heads),
    /** Q/K (sub-)heads in the q/k outputs: H for softmax, 2h for DIFF V1. */
    qkHeads: bounded(MANIFEST_LIMITS.qkHeads),
    headDim: bounded(MANIFEST_LIMITS.headDim),
    dModel: bounded(MANIFEST_LIMITS.dModel),
    vocabSize: bounded(MANIFEST_LIMITS.vocabSize),
    maxContext: bounded(MANIFEST_LIMITS.maxContext),
    /** λ_init per layer (DIFF V1): 0.8 − 0.6·exp(−0.3·l). */
    lambdaInit: z.array(z.number()).max(MANIFEST_LIMITS.layers).optional(),
    /** Softmax scale applied to q·k (1/√headDim unless stated). */
    scale: z.number().positive(),
    /** "probs": attention is read from the graph's softmax outputs (full maps, so inputs are shorter). Default "qk". */
    readFrom: z.enum(['qk', 'probs']).optional(),
    files: z.object({ onnx: name, tokenizer: name }).strict(),
    inputs: z.object({ ids: tensor.extend({ dtype: z.literal('int64') }), extra: z.array(extraInput).max(64).optional() }).strict(),
    outputs: z
      .object({
        logits: tensor,
        q: perLayer,
        k: perLayer,
        /** DIFF V1: one value per layer (any layout; the first value is read). DIFF V2: [batch, head, token, one]. */
        lambda: perLayer.optional(),
        /** Optional: without it the value-weighted view is not offered. */
        valueNorm: perLayer.optional(),
        /**
         * Optional: the layer's softmax output [batch, qkHead, token, key], in graphs the extension rewrote. Used to
         * verify that Q/K reproduce it, and read instead of Q/K when they do not (a bias the rewriter cannot see).
         */
        probs: perLayer.optional(),
        rowScale: perLayer.optional(),
      })
      .strict(),
    /**
     * Optional: the graph takes a key/value cache, so the engine feeds the text in chunks (chunked prefill) and
     * attention memory stays O(chunk × T). The ids' positions come from an extra input filled with "positions".
     */
    cache: z.object({ key: cacheTensor, value: cacheTensor }).strict().optional(),
    twin: z.object({ name, path: name }).strict().optional(),
    /** Where the package came from when the extension wrote it (a rewritten ONNX graph); absent for exported packages. */
    source: z.object({ kind: z.enum(['rewritten-onnx', 'exported']), path: z.string().max(4096), notes: z.array(z.string().max(2000)).max(MANIFEST_LIMITS.listItems) }).strict().optional(),
    parameters: positiveInt,
    training: z.record(z.string(), z.unknown()),
    evaluation: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((m, ctx) => {
    // Packages whose heads are laid out as the DIFF reference code and its softmax twin: dModel follows from the heads.
    if (!m.source && m.pairing !== 'halves' && m.attention !== 'diff-v2' && m.dModel !== (m.attention === 'diff-v1' ? m.heads * 2 * m.headDim : m.heads * m.headDim)) {
      ctx.addIssue({ code: 'custom', path: ['dModel'], message: `does not match heads × head width for ${m.attention}` });
    }
    if (m.attention !== 'softmax') {
      if (m.qkHeads !== 2 * m.heads) ctx.addIssue({ code: 'custom', path: ['qkHeads'], message: `must be 2 × heads for ${m.attention}` });
      if (!m.outputs.lambda) ctx.addIssue({ code: 'custom', path: ['outputs', 'lambda'], message: `is required for ${m.attention}` });
      if (m.pairing === 'none') ctx.addIssue({ code: 'custom', path: ['pairing'], message: `must name the pairing for ${m.attention}` });
    }
    if (m.attention === 'diff-v1' && m.lambdaInit !== undefined && m.lambdaInit.length !== m.layers) {
      ctx.addIssue({ code: 'custom', path: ['lambdaInit'], message: 'needs one value per layer for diff-v1' });
    }
    if (m.attention === 'diff-v2') {
      if (m.pairing !== 'adjacent-query') ctx.addIssue({ code: 'custom', path: ['pairing'], message: 'must be "adjacent-query" for diff-v2' });
      const lay = m.outputs.lambda?.layout.join(',');
      if (lay !== 'batch,head,token,one' && lay !== 'batch,head,token') ctx.addIssue({ code: 'custom', path: ['outputs', 'lambda', 'layout'], message: 'must be ["batch", "head", "token"(, "one")] for diff-v2 (λ per token and head)' });
    }
    if (m.attention === 'softmax' && m.pairing !== 'none') ctx.addIssue({ code: 'custom', path: ['pairing'], message: 'must be "none" for softmax' });
    if (m.cache) {
      for (const part of ['key', 'value'] as const) {
        const dims = m.cache[part].dims;
        if (dims.filter((d) => d === 'past').length !== 1) ctx.addIssue({ code: 'custom', path: ['cache', part, 'dims'], message: 'must name "past" exactly once (the cached tokens\' axis)' });
      }
      if (m.readFrom === 'probs') ctx.addIssue({ code: 'custom', path: ['cache'], message: 'cannot be used with readFrom "probs" (full maps are read in one pass)' });
      // A mask over the fed tokens alone would be the wrong length once the cache holds tokens.
      const mask = (m.inputs.extra ?? []).find((x) => x.fill === 'ones' && x.dims.includes('token'));
      if (mask) ctx.addIssue({ code: 'custom', path: ['cache'], message: `needs the attention mask "${mask.name}" to cover the cached tokens too: give its dims as ["batch", "past+token"], not "token"` });
    }
    if (m.readFrom === 'probs' && !m.outputs.probs) ctx.addIssue({ code: 'custom', path: ['outputs', 'probs'], message: 'is required when readFrom is "probs"' });
    for (const f of Object.values(m.files)) {
      if (f.includes('..') || f.startsWith('/') || f.includes('\\')) ctx.addIssue({ code: 'custom', path: ['files'], message: `"${f}" must stay inside the package folder` });
    }
  });

export type Manifest = z.infer<typeof ManifestSchema>;

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; errors: string[] };

/**
 * Validates parsed JSON. Every error names the file, the field, what was found and what is expected, in words a
 * user understands ('manifest.json: headDim is 1.5; expected a whole number from 1 to 4096 (the width of one
 * attention head)'), never zod's own wording.
 */
export function parseManifest(json: unknown, file = 'manifest.json'): ManifestResult {
  const r = ManifestSchema.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return { ok: false, errors: r.error.issues.slice(0, 20).map((i) => describeIssue(i, json, file)) };
}

/** What each top-level field means, for messages. */
const FIELD_MEANING: Record<string, string> = {
  formatVersion: 'the manifest format version',
  layers: 'the number of layers',
  heads: 'attention heads per layer',
  qkHeads: 'Q/K heads per layer in the q and k outputs',
  headDim: 'the width of one attention head',
  dModel: 'the model width',
  vocabSize: 'the vocabulary size',
  maxContext: 'the longest input in tokens',
  scale: 'the softmax scale applied to q·k',
  parameters: 'the number of parameters',
  attention: 'the attention kind',
  pairing: 'how Q/K sub-heads pair',
};

/** A value as a message shows it: short, one line, never more than 40 characters of the file's text. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `a list of ${v.length} item${v.length === 1 ? '' : 's'}`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') {
    const s = v.length > 40 ? `${v.slice(0, 37)}…` : v;
    return `the text ${JSON.stringify(s)}`;
  }
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'not a finite number';
  return String(v);
}

const TYPE_WORDS: Record<string, string> = {
  int: 'a whole number',
  number: 'a number',
  string: 'text',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  record: 'an object',
};

function valueAt(json: unknown, path: PropertyKey[]): unknown {
  let v = json;
  for (const k of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

function describeIssue(i: z.core.$ZodIssue, json: unknown, file: string): string {
  const field = i.path.length ? i.path.map(String).join('.') : '(the whole file)';
  const found = valueAt(json, i.path);
  const meaning = i.path.length === 1 && FIELD_MEANING[String(i.path[0])] ? ` (${FIELD_MEANING[String(i.path[0])]})` : '';
  const at = `${file}: ${field}`;
  switch (i.code) {
    case 'invalid_type': {
      const top = i.path.length === 1 ? String(i.path[0]) : '';
      const limit = (MANIFEST_LIMITS as Record<string, number>)[top];
      const expected = limit && (i.expected === 'int' || i.expected === 'number') ? `a whole number from 1 to ${limit}` : TYPE_WORDS[i.expected] ?? i.expected;
      if (found === undefined) return `${at} is missing; expected ${expected}${meaning}`;
      return `${at} is ${describeValue(found)}; expected ${expected}${meaning}`;
    }
    case 'too_big': {
      const max = Number(i.maximum);
      if (i.origin === 'array') return `${at} is ${describeValue(found)}, more than the limit of ${max}${meaning}`;
      if (i.origin === 'string') return `${at} is ${(found as string).length} characters long, more than the limit of ${max}`;
      return `${at} is ${describeValue(found)}, over the limit of ${max}${meaning}; no model the inspector can run is that large`;
    }
    case 'too_small': {
      const min = Number(i.minimum);
      if (i.origin === 'array') return `${at} is an empty list; expected at least ${min} item${min === 1 ? '' : 's'}`;
      if (i.origin === 'string') return `${at} is empty text; expected a name`;
      return `${at} is ${describeValue(found)}; expected ${i.inclusive ? `at least ${min}` : `more than ${min}`}${meaning}`;
    }
    case 'invalid_value':
      return `${at} is ${describeValue(found)}; expected ${i.values.length === 1 ? JSON.stringify(i.values[0]) : `one of ${i.values.map((v) => JSON.stringify(v)).join(', ')}`}${meaning}`;
    case 'unrecognized_keys': {
      const keys = i.keys.slice(0, 5).map((k) => JSON.stringify(k.length > 40 ? `${k.slice(0, 37)}…` : k));
      return `${at} has ${i.keys.length === 1 ? 'a field' : 'fields'} the manifest format does not know: ${keys.join(', ')}${i.keys.length > 5 ? ` and ${i.keys.length - 5} more` : ''} (remove ${i.keys.length === 1 ? 'it' : 'them'}, or check the spelling)`;
    }
    case 'invalid_format':
      return `${at} is ${describeValue(found)}; ${i.message.replace(/^Invalid string: /, '')}`;
    case 'invalid_union':
      return `${at} is ${describeValue(found)}; expected a whole number or one of "batch", "token", "past", "past+token"`;
    case 'custom':
      return `${at}${found !== undefined && typeof found !== 'object' ? ` (${describeValue(found)})` : ''} ${i.message}`;
    default:
      return `${at} is ${describeValue(found)}; ${i.message}`;
  }
}

export function manifestJsonSchema(): unknown {
  return z.toJSONSchema(ManifestSchema, { io: 'input' });
}

/** The graph output names a manifest promises, per layer expanded. */
export function expectedOutputNames(m: Manifest): string[] {
  const names = [m.outputs.logits.name];
  for (let l = 0; l < m.layers; l++) {
    for (const t of [m.outputs.q, m.outputs.k, m.outputs.lambda, m.outputs.valueNorm, m.outputs.rowScale, m.outputs.probs]) {
      if (t) names.push(t.name.replace('{layer}', String(l)));
    }
    if (m.cache) names.push(m.cache.key.present.replace('{layer}', String(l)), m.cache.value.present.replace('{layer}', String(l)));
  }
  return names;
}

/** The graph's file name in every bundled package (the build stages them so; a manifest naming another is obeyed). */
export const BUNDLED_GRAPH = 'model.onnx';

/**
 * The model package contract (DESIGN.md §4): a folder with manifest.json, an ONNX graph and an HF tokenizer.json.
 * The manifest, not code, says how the graph's outputs are laid out. This zod schema is the single source of truth:
 * media/models/manifest.schema.json is generated from it (and a unit test keeps the two equal).
 */
import * as z from 'zod';

const name = z.string().min(1).max(200);
const positiveInt = z.number().int().positive();
/** Axis names of a tensor, outermost first, e.g. ["batch", "qkHead", "token", "dim"]. */
/** "key" is the second token axis of a full attention map. */
const layout = z.array(z.enum(['batch', 'token', 'key', 'vocab', 'head', 'qkHead', 'dim', 'one'])).min(1);
const tensor = z.object({ name, layout }).strict();
/**
 * A graph input besides the ids, fed by the engine: "ones" (an attention mask), "positions" (0..T−1), "empty" (a
 * past key/value cache of length 0). Dims name "batch" (1), "token" (T), "past" (0) or give a number.
 */
const extraInput = z
  .object({
    name,
    fill: z.enum(['ones', 'positions', 'empty']),
    dtype: z.enum(['int64', 'int32', 'float32']),
    dims: z.array(z.union([z.number().int().nonnegative(), z.enum(['batch', 'token', 'past'])])).min(1),
  })
  .strict();
/** A per-layer tensor: `name` holds "{layer}", replaced by the 0-based layer index. */
const perLayer = z.object({ name: name.regex(/\{layer\}/, 'must contain "{layer}"'), layout }).strict();

export const ManifestSchema = z
  .object({
    formatVersion: z.literal(1),
    name,
    displayName: name,
    description: z.string(),
    attention: z.enum(['softmax', 'diff-v1', 'diff-v2']),
    /** How Q/K sub-heads pair into A1/A2: "interleaved" (2i, 2i+1; the DIFF reference code), "halves" (i, i+h;
     * DiffLlama), "adjacent-query" (DIFF V2), "none" for softmax models. */
    pairing: z.enum(['none', 'interleaved', 'halves', 'adjacent-query']),
    /** "unknown" for graphs rewritten by the extension: their Q/K are read after RoPE, whatever its style. */
    rope: z.object({ style: z.enum(['interleaved', 'neox', 'none', 'unknown']), theta: z.number().positive().optional() }).strict(),
    layers: positiveInt,
    /** Attention heads as the model mixes values: H for softmax, h = H/2 for DIFF V1. */
    heads: positiveInt,
    /** Q/K (sub-)heads in the q/k outputs: H for softmax, 2h for DIFF V1. */
    qkHeads: positiveInt,
    headDim: positiveInt,
    dModel: positiveInt,
    vocabSize: positiveInt,
    maxContext: positiveInt,
    /** λ_init per layer (DIFF V1): 0.8 − 0.6·exp(−0.3·l). */
    lambdaInit: z.array(z.number()).optional(),
    /** Softmax scale applied to q·k (1/√headDim unless stated). */
    scale: z.number().positive(),
    /** "probs": attention is read from the graph's softmax outputs (full maps, so inputs are shorter). Default "qk". */
    readFrom: z.enum(['qk', 'probs']).optional(),
    files: z.object({ onnx: name, tokenizer: name }).strict(),
    inputs: z.object({ ids: tensor.extend({ dtype: z.literal('int64') }), extra: z.array(extraInput).optional() }).strict(),
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
    twin: z.object({ name, path: name }).strict().optional(),
    /** Where the package came from when the extension wrote it (a rewritten ONNX graph); absent for exported packages. */
    source: z.object({ kind: z.enum(['rewritten-onnx', 'exported']), path: z.string(), notes: z.array(z.string()) }).strict().optional(),
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
    if (m.readFrom === 'probs' && !m.outputs.probs) ctx.addIssue({ code: 'custom', path: ['outputs', 'probs'], message: 'is required when readFrom is "probs"' });
    for (const f of Object.values(m.files)) {
      if (f.includes('..') || f.startsWith('/') || f.includes('\\')) ctx.addIssue({ code: 'custom', path: ['files'], message: `"${f}" must stay inside the package folder` });
    }
  });

export type Manifest = z.infer<typeof ManifestSchema>;

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; errors: string[] };

/** Validates parsed JSON; every error names the field ("manifest.json: layers: expected number, received string"). */
export function parseManifest(json: unknown, file = 'manifest.json'): ManifestResult {
  const r = ManifestSchema.safeParse(json);
  if (r.success) return { ok: true, manifest: r.data };
  return {
    ok: false,
    errors: r.error.issues.map((i) => `${file}: ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
  };
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
  }
  return names;
}

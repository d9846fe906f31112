/**
 * Checks of a decoded graph's constants at open, before anything runs or allocates from them: each initializer's
 * declared dims are sane and match the bytes it holds, weights held in external files are refused (nothing outside the
 * model file is read; a location may point anywhere), and floating-point weights hold no NaN or infinite values
 * (a damaged or diverged checkpoint would otherwise open silently and paint meaningless attention).
 */
import { ElemType, type GraphModel, type NodeP, type TensorP } from './graphModel';

/** Bytes per element of the ONNX element types a tensor can hold in raw_data. */
const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2 };
const ELEM_NAME: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16' };
export const elemName = (t: number | undefined) => (t === undefined ? 'an undeclared type' : ELEM_NAME[t] ?? `ONNX element type ${t}`);

/** One dimension may be at most this long, and a tensor at most this many elements (2^32: 16 GB of float32). */
export const TENSOR_LIMITS = { dim: 2 ** 31, elements: 2 ** 32 } as const;

/** Operators through which an infinite constant is a mask value, not a weight (−∞ above the diagonal, added to logits). */
const MASK_OPS = new Set(['Add', 'Sub', 'Where', 'Min', 'Max', 'Expand', 'Reshape', 'Slice', 'Cast', 'Identity', 'Concat', 'Trilu', 'Unsqueeze', 'Squeeze', 'Equal', 'Less', 'Greater', 'LessOrEqual', 'GreaterOrEqual']);

/** A name from the model, cut short for a message. */
export const shortName = (s: string | undefined) => JSON.stringify(!s ? '' : s.length > 80 ? `${s.slice(0, 77)}…` : s);

export interface WeightReport {
  /** Reasons to refuse the model. */
  errors: string[];
  /** Worth telling the user, but the model opens. */
  notes: string[];
}

/** Counts NaN and ±∞ among float32 values held as little-endian bytes (any alignment), without copying the whole tensor. */
interface NonFinite {
  nan: number;
  inf: number;
  /** How many of the infinite values are +∞. */
  posInf: number;
}

function countNonFinite32(raw: Uint8Array): NonFinite {
  let nan = 0;
  let inf = 0;
  let posInf = 0;
  const count = (u: Uint32Array) => {
    for (let i = 0; i < u.length; i++) {
      const v = u[i];
      if ((v & 0x7f800000) === 0x7f800000) {
        if (v & 0x7fffff) nan++;
        else {
          inf++;
          if (v === 0x7f800000) posInf++;
        }
      }
    }
  };
  const len = raw.byteLength - (raw.byteLength % 4);
  if (raw.byteOffset % 4 === 0) count(new Uint32Array(raw.buffer, raw.byteOffset, len / 4));
  else {
    const chunk = new Uint8Array(4 * 2 ** 18);
    for (let o = 0; o < len; o += chunk.length) {
      const part = raw.subarray(o, Math.min(len, o + chunk.length));
      chunk.set(part);
      count(new Uint32Array(chunk.buffer, 0, part.length / 4));
    }
  }
  return { nan, inf, posInf };
}

function countNonFiniteNumbers(values: Iterable<number>): NonFinite {
  let nan = 0;
  let inf = 0;
  let posInf = 0;
  for (const v of values) {
    if (Number.isNaN(v)) nan++;
    else if (!Number.isFinite(v)) {
      inf++;
      if (v > 0) posInf++;
    }
  }
  return { nan, inf, posInf };
}

function* float64s(raw: Uint8Array): Iterable<number> {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let o = 0; o + 8 <= raw.byteLength; o += 8) yield dv.getFloat64(o, true);
}

/** Checks one tensor's dims against its data; returns a problem or undefined, and the element count. */
function checkSize(t: TensorP, what: string): { problem?: string; elements: number } {
  const dims = (t.dims ?? []).map(Number);
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > TENSOR_LIMITS.dim) return { problem: `${what} declares the dimension ${d} (dims ${dims.join('×')}); a dimension is a whole number from 0 to ${TENSOR_LIMITS.dim}`, elements: 0 };
  }
  const elements = dims.reduce((a, b) => a * b, 1);
  if (elements > TENSOR_LIMITS.elements) return { problem: `${what} declares ${elements.toExponential(2)} values (dims ${dims.join('×')}), over the limit of ${TENSOR_LIMITS.elements}`, elements };
  const size = t.data_type === undefined ? undefined : ELEM_BYTES[t.data_type];
  const raw = t.raw_data;
  const held = raw && raw.byteLength ? raw.byteLength : undefined;
  if (held !== undefined && size !== undefined && held !== elements * size) {
    return { problem: `${what} declares dims ${dims.join('×') || '(a scalar)'} of ${elemName(t.data_type)} (${elements * size} bytes) but holds ${held} bytes (a damaged file)`, elements };
  }
  if (held === undefined) {
    const list = (t as { float_data?: number[]; int64_data?: number[]; int32_data?: number[] });
    const n = list.float_data?.length ?? list.int64_data?.length ?? list.int32_data?.length;
    if (n !== undefined && n !== elements) return { problem: `${what} declares dims ${dims.join('×') || '(a scalar)'} (${elements} values) but holds ${n} values (a damaged file)`, elements };
  }
  return { elements };
}

function nonFinite(t: TensorP): NonFinite {
  const raw = t.raw_data && t.raw_data.byteLength ? t.raw_data : undefined;
  if (t.data_type === ElemType.FLOAT) return raw ? countNonFinite32(raw) : countNonFiniteNumbers(t.float_data ?? []);
  if (t.data_type === 11 && raw) return countNonFiniteNumbers(float64s(raw));
  return { nan: 0, inf: 0, posInf: 0 };
}

/** The initializers' and Constant nodes' checks (sizes, external data, NaN/∞); `file` names the ONNX file in messages. */
export function checkWeights(g: GraphModel): WeightReport {
  const errors: string[] = [];
  const notes: string[] = [];
  const tensors: { t: TensorP; what: string; consumers: NodeP[] }[] = [];
  for (const [name, t] of g.initializers) tensors.push({ t, what: `weight ${shortName(name)}`, consumers: g.consumers.get(name) ?? [] });
  for (const n of g.nodes) {
    if (n.op_type !== 'Constant') continue;
    const t = g.attr(n, 'value')?.t;
    if (t) tensors.push({ t, what: `the constant of node ${shortName(n.name)}`, consumers: (n.output ?? []).flatMap((o) => g.consumers.get(o) ?? []) });
  }
  let nanTensors = 0;
  for (const { t, what, consumers } of tensors) {
    if (errors.length >= 5) break;
    if (t.data_location === 1) {
      const loc = (t as { external_data?: { key?: string; value?: string }[] }).external_data?.find((e) => e.key === 'location')?.value;
      errors.push(`${what} is stored in an external data file${loc ? ` (${shortName(loc)})` : ''}, which the inspector does not read (nothing outside the model file is opened); save the model as one .onnx file (under 2 GB)`);
      continue;
    }
    const s = checkSize(t, what);
    if (s.problem) {
      errors.push(s.problem);
      continue;
    }
    const { nan, inf, posInf } = nonFinite(t);
    if (!nan && !inf) continue;
    // A mask value, read only by masking operators: a single number (torch's masked_fill(mask, -inf) exports a scalar
    // Constant read by Where), or a −∞-only tensor square in its last two axes ([.., T, T]). A bias vector or a weight
    // with ∞ in it is damage, not a mask.
    const dims = (t.dims ?? []).map(Number);
    const square = dims.length >= 2 && dims[dims.length - 1] === dims[dims.length - 2];
    const shapeOk = s.elements <= 1 || (posInf === 0 && square);
    const isMask = nan === 0 && shapeOk && consumers.length > 0 && consumers.every((c) => MASK_OPS.has(c.op_type));
    if (isMask) {
      // torch's scalar −∞ for masked_fill is in every eager export: not worth a word. A whole mask tensor of −∞ is noted.
      if (s.elements > 1) notes.push(`${what} holds ${inf} infinite values; read as a mask constant (it only feeds ${[...new Set(consumers.map((c) => c.op_type))].join(', ')})`);
      continue;
    }
    nanTensors++;
    const parts = [nan ? `${nan} NaN` : '', inf ? `${inf} infinite` : ''].filter(Boolean).join(' and ');
    errors.push(`${what} holds ${parts} value${nan + inf === 1 ? '' : 's'} (of ${s.elements}): the weights are damaged (a diverged training run or a broken conversion), and every attention map computed from them would be meaningless. Export the model again from a checkpoint whose weights are finite`);
  }
  if (nanTensors > 0 && errors.length >= 5) errors.push('(further weights were not checked)');
  return { errors, notes };
}

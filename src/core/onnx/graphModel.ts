/**
 * A read-only view of a decoded ONNX graph: who produces and who consumes each tensor, the constants' values, and the
 * graph inputs. The attention finder walks it; nothing here changes the model.
 */
import { ModelProto } from './modelBuilder';
import { WireError, checkWire } from './wireCheck';

export interface TensorP {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  int64_data?: number[];
  data_location?: number;
}
export interface AttrP {
  name: string;
  f?: number;
  i?: number;
  ints?: number[];
  t?: TensorP;
}
export interface NodeP {
  name?: string;
  op_type: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: AttrP[];
}
interface ValueInfoP {
  name: string;
  type?: { tensor_type?: { elem_type?: number; shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } };
}

export const ElemType = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10, BFLOAT16: 16 } as const;

export interface GraphInput {
  name: string;
  elemType: number | undefined;
  dims: (number | string)[];
}

export class GraphModel {
  readonly nodes: NodeP[];
  readonly producer = new Map<string, NodeP>();
  readonly consumers = new Map<string, NodeP[]>();
  readonly initializers = new Map<string, TensorP>();
  readonly inputs: GraphInput[];
  readonly outputs: GraphInput[];
  readonly valueInfo = new Map<string, GraphInput>();
  readonly opset: number;
  readonly tensorNames = new Set<string>();

  constructor(bytes: Uint8Array) {
    if (bytes.length === 0) throw new Error('not an ONNX model (the file is empty: 0 bytes)');
    try {
      checkWire(bytes); // bounds depth, counts and declared lengths before protobufjs allocates anything
    } catch (e) {
      if (e instanceof WireError) throw new Error(`not an ONNX model the inspector can read: ${e.message}`);
      throw e;
    }
    let m;
    try {
      m = ModelProto.toObject(ModelProto.decode(bytes), { longs: Number, defaults: false }) as {
        opset_import?: { domain?: string; version?: number }[];
        graph?: { node?: NodeP[]; initializer?: TensorP[]; input?: ValueInfoP[]; output?: ValueInfoP[]; value_info?: ValueInfoP[] };
      };
    } catch (e) {
      throw new Error(`not an ONNX model (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!m.graph) throw new Error('not an ONNX model (the file holds no graph)');
    const g = m.graph;
    this.opset = m.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0;
    this.nodes = g.node ?? [];
    for (const t of g.initializer ?? []) if (t.name) this.initializers.set(t.name, t);
    for (const n of this.nodes) {
      for (const o of n.output ?? []) {
        this.producer.set(o, n);
        this.tensorNames.add(o);
      }
      for (const i of n.input ?? []) {
        if (!i) continue;
        let c = this.consumers.get(i);
        if (!c) this.consumers.set(i, (c = []));
        c.push(n);
      }
    }
    const info = (v: ValueInfoP): GraphInput => ({
      name: v.name,
      elemType: v.type?.tensor_type?.elem_type,
      dims: (v.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_param ?? d.dim_value ?? '?'),
    });
    this.inputs = (g.input ?? []).filter((v) => !this.initializers.has(v.name)).map(info);
    this.outputs = (g.output ?? []).map(info);
    for (const v of [...(g.value_info ?? []), ...(g.output ?? []), ...(g.input ?? [])]) this.valueInfo.set(v.name, info(v));
    for (const n of [...this.initializers.keys(), ...this.inputs.map((i) => i.name)]) this.tensorNames.add(n);
  }

  attr(n: NodeP, name: string): AttrP | undefined {
    return n.attribute?.find((a) => a.name === name);
  }

  /** The values of a constant tensor (an initializer or a Constant node's value), as numbers; undefined otherwise. */
  constant(name: string): number[] | undefined {
    const init = this.initializers.get(name);
    if (init) return tensorValues(init);
    const p = this.producer.get(name);
    if (!p) return undefined;
    if (p.op_type === 'Constant') {
      const t = this.attr(p, 'value')?.t;
      if (t) return tensorValues(t);
      const f = this.attr(p, 'value_float')?.f;
      if (f !== undefined) return [f];
      const i = this.attr(p, 'value_int')?.i;
      if (i !== undefined) return [i];
      const ints = this.attr(p, 'value_ints')?.ints;
      if (ints) return ints.map(Number);
      return undefined;
    }
    // Small constant folding for the scale's usual spellings (sqrt(d), 1/sqrt(d), a cast of either).
    const x = p.input?.[0] ? this.constant(p.input[0]) : undefined;
    if (!x) return undefined;
    if (p.op_type === 'Cast' || p.op_type === 'Identity') return x;
    if (p.op_type === 'Sqrt') return x.map(Math.sqrt);
    if (p.op_type === 'Reciprocal') return x.map((v) => 1 / v);
    return undefined;
  }

  /**
   * A shape tensor's values where the graph fixes them: constants as they are, and for a Concat of constants and
   * run-time pieces (torch.onnx's view(b, h, 2, T, T)), undefined in place of each run-time value.
   */
  partialShape(name: string): (number | undefined)[] | undefined {
    const c = this.constant(name);
    if (c) return c;
    const p = this.producer.get(name);
    if (!p) return undefined;
    if (p.op_type === 'Concat') {
      const parts = (p.input ?? []).map((i) => this.partialShape(i));
      return parts.every((x) => x) ? parts.flat() : undefined;
    }
    if (p.op_type === 'Unsqueeze' && p.input?.[0] && !this.constant(p.input[0])) return [undefined];
    if (p.op_type === 'Slice') {
      const [starts, ends] = [this.constant(p.input![1]), this.constant(p.input![2])];
      const steps = p.input![4] ? this.constant(p.input![4]) : [1];
      if (starts?.length === 1 && ends?.length === 1 && steps?.[0] === 1 && starts[0] >= 0 && ends[0] >= starts[0] && ends[0] < 2 ** 31) {
        const src = this.partialShape(p.input![0]);
        return src ? src.slice(starts[0], ends[0]) : Array.from({ length: ends[0] - starts[0] }, () => undefined);
      }
    }
    return undefined;
  }

  /** A constant holding exactly one value. */
  scalar(name: string): number | undefined {
    const v = this.constant(name);
    return v && v.length === 1 && Number.isFinite(v[0]) ? v[0] : undefined;
  }

  /** A tensor's rank when the graph states or implies it. */
  rank(name: string): number | undefined {
    const vi = this.valueInfo.get(name);
    if (vi && vi.dims.length) return vi.dims.length;
    const p = this.producer.get(name);
    if (!p) return undefined;
    if (p.op_type === 'Transpose') return this.attr(p, 'perm')?.ints?.length;
    if (p.op_type === 'Reshape') return this.constant(p.input![1])?.length;
    return undefined;
  }

  /** Whether `name` depends on any of the graph inputs `from` (walks producers). */
  dependsOn(name: string, from: Set<string>): boolean {
    const seen = new Set<string>();
    const stack = [name];
    while (stack.length) {
      const t = stack.pop()!;
      if (from.has(t)) return true;
      if (seen.has(t)) continue;
      seen.add(t);
      const p = this.producer.get(t);
      if (p) for (const i of p.input ?? []) if (i) stack.push(i);
    }
    return false;
  }
}

function tensorValues(t: TensorP): number[] | undefined {
  if (t.data_location === 1) return undefined;
  const n = (t.dims ?? []).reduce((a, b) => a * Number(b), 1);
  if (n > 64) return undefined; // constants we read are scalars and shapes
  // A copy: protobufjs may hand out a view into a larger pooled buffer.
  const raw = t.raw_data ? new Uint8Array(t.raw_data) : undefined;
  switch (t.data_type) {
    case ElemType.FLOAT:
      if (raw && raw.byteLength) return Array.from(new Float32Array(raw.buffer, 0, raw.byteLength / 4));
      return t.float_data?.map(Number);
    case 11: // DOUBLE
      if (raw && raw.byteLength) return Array.from(new Float64Array(raw.buffer, 0, raw.byteLength / 8));
      return undefined;
    case ElemType.INT64:
      if (raw && raw.byteLength) return Array.from(new BigInt64Array(raw.buffer, 0, raw.byteLength / 8), Number);
      return t.int64_data?.map(Number);
    case ElemType.INT32:
      if (raw && raw.byteLength) return Array.from(new Int32Array(raw.buffer, 0, raw.byteLength / 4));
      return undefined;
    default:
      return undefined;
  }
}

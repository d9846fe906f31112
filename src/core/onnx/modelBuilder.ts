/**
 * A small writer for ONNX graphs, so tests and the build can make real models without Python.
 * Uses protobufjs with the schema subset in onnxSchema.ts.
 */
import protobuf from 'protobufjs';
import { ONNX_PROTO } from './onnxSchema';

const root = protobuf.parse(ONNX_PROTO, { keepCase: true }).root;
export const ModelProto = root.lookupType('onnx.ModelProto');

export const DataType = { FLOAT: 1, INT64: 7 } as const;
const AttrType = { FLOAT: 1, INT: 2, INTS: 7 } as const;

export type Dim = number | string;
export type AttrValue = number | number[] | { float: number };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
  /** An operator set other than the default one, e.g. "com.microsoft". */
  domain?: string;
}

export interface GraphSpec {
  name: string;
  inputs: { name: string; dims: Dim[] }[];
  outputs: { name: string; dims: Dim[] }[];
  initializers: { name: string; dims: number[]; data: Float32Array }[];
  /** int64 constants such as shapes, axes or Trilu's k. */
  int64Initializers?: { name: string; dims: number[]; data: number[] }[];
  nodes: NodeSpec[];
  opset?: number;
  docString?: string;
  /** Inputs that hold int64 (token ids, positions, masks); the others are float32. */
  int64Inputs?: string[];
}

function valueInfo(name: string, dims: Dim[], elemType: number = DataType.FLOAT) {
  return {
    name,
    type: {
      tensor_type: {
        elem_type: elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue) {
  if (Array.isArray(v)) return { name, type: AttrType.INTS, ints: v };
  if (typeof v === 'object') return { name, type: AttrType.FLOAT, f: v.float };
  return { name, type: AttrType.INT, i: v };
}

/** Serialises a float32 graph to ONNX bytes (IR version 8, default-domain opset 17 unless given). */
export function buildModel(spec: GraphSpec): Uint8Array {
  const model = {
    ir_version: 8,
    opset_import: [
      { domain: '', version: spec.opset ?? 17 },
      ...[...new Set(spec.nodes.map((n) => n.domain).filter((d): d is string => !!d))].map((domain) => ({ domain, version: 1 })),
    ],
    producer_name: 'attention-inspector',
    producer_version: '0.1.0',
    doc_string: spec.docString ?? '',
    graph: {
      name: spec.name,
      node: spec.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        op_type: n.op,
        ...(n.domain ? { domain: n.domain } : {}),
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attribute(k, v)),
      })),
      initializer: spec.initializers.map((t): { name: string; dims: number[]; data_type: number; raw_data: Uint8Array } => ({
        name: t.name,
        dims: t.dims,
        data_type: DataType.FLOAT,
        raw_data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })).concat(
        (spec.int64Initializers ?? []).map((t) => ({
          name: t.name,
          dims: t.dims,
          data_type: DataType.INT64,
          raw_data: new Uint8Array(BigInt64Array.from(t.data.map((v) => BigInt(v))).buffer),
        })),
      ),
      input: spec.inputs.map((i) => valueInfo(i.name, i.dims, spec.int64Inputs?.includes(i.name) ? DataType.INT64 : DataType.FLOAT)),
      output: spec.outputs.map((o) => valueInfo(o.name, o.dims)),
    },
  };
  const err = ModelProto.verify(model);
  if (err) throw new Error(`invalid ONNX model spec: ${err}`);
  return ModelProto.encode(ModelProto.fromObject(model)).finish();
}

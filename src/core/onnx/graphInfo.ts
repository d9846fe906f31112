import { ModelProto } from './modelBuilder';

export interface GraphIo {
  inputs: { name: string; dims: (number | string)[] }[];
  outputs: { name: string; dims: (number | string)[] }[];
  opsetVersion: number | undefined;
  opTypes: Set<string>;
}

interface ValueInfo { name: string; type?: { tensor_type?: { shape?: { dim?: { dim_value?: number; dim_param?: string }[] } } } }

/** Reads an ONNX model's declared inputs, outputs and operators (not its weights' values). */
export function readGraphIo(bytes: Uint8Array): GraphIo {
  let decoded;
  try {
    decoded = ModelProto.decode(bytes);
  } catch (e) {
    throw new Error(`not an ONNX model (${e instanceof Error ? e.message : String(e)})`);
  }
  const m = ModelProto.toObject(decoded, { longs: Number, defaults: false }) as {
    opset_import?: { domain?: string; version?: number }[];
    graph?: { input?: ValueInfo[]; output?: ValueInfo[]; initializer?: { name: string }[]; node?: { op_type: string }[] };
  };
  if (!m.graph) throw new Error('not an ONNX model (no graph)');
  const inits = new Set((m.graph.initializer ?? []).map((i) => i.name));
  const dims = (v: ValueInfo) => (v.type?.tensor_type?.shape?.dim ?? []).map((d) => d.dim_param ?? d.dim_value ?? '?');
  return {
    inputs: (m.graph.input ?? []).filter((v) => !inits.has(v.name)).map((v) => ({ name: v.name, dims: dims(v) })),
    outputs: (m.graph.output ?? []).map((v) => ({ name: v.name, dims: dims(v) })),
    opsetVersion: m.opset_import?.find((o) => !o.domain)?.version,
    opTypes: new Set((m.graph.node ?? []).map((n) => n.op_type)),
  };
}

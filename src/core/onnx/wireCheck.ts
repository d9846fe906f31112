/**
 * A pass over an ONNX file's protobuf wire format before protobufjs decodes it, so a hostile or damaged file is
 * refused in milliseconds, before decoding allocates anything: every declared length must fit in its enclosing message
 * (a truncated file, or a length of 4 GB in a 20-byte file), messages may nest only so deep (protobufjs decodes nested
 * messages recursively: a million levels cost gigabytes and then overflow the stack), and the number of messages and
 * of graph nodes is bounded (millions of empty nodes cost seconds each million to decode). Fields the schema subset
 * does not know are skipped by their length, as protobufjs skips them.
 */
import type protobuf from 'protobufjs';
import { ModelProto } from './modelBuilder';

export const WIRE_LIMITS = {
  /** Nested messages (protobuf's own default recursion limit is 100; an ONNX model nests about 6 per subgraph level). */
  depth: 100,
  /**
   * Messages in the whole file (nodes, attributes, tensors, value infos, dimensions): a large exported decoder holds
   * about 100,000. Decoding a million empty ones takes about 2 s and 300 MB here; four million took 8 s and 1.1 GB.
   */
  messages: 1_000_000,
  /** NodeProto messages (GPT-2 small: about 2,500; a 32-layer Llama export: about 15,000). */
  nodes: 250_000,
} as const;

type Children = Map<number, protobuf.Type>;
const childrenOf = new Map<protobuf.Type, Children>();
function children(t: protobuf.Type): Children {
  let c = childrenOf.get(t);
  if (!c) {
    t.root.resolveAll();
    c = new Map();
    for (const f of t.fieldsArray) {
      const r = f.resolve().resolvedType;
      if (r && 'fieldsArray' in r) c.set(f.id, r as protobuf.Type);
    }
    childrenOf.set(t, c);
  }
  return c;
}

export class WireError extends Error {}

/** Throws a WireError that says what is wrong and where; returns the counts when the file is sound. */
export function checkWire(bytes: Uint8Array, root: protobuf.Type = ModelProto): { messages: number; nodes: number; depth: number } {
  const nodeType = root.root.lookupType('onnx.NodeProto');
  const n = bytes.length;
  let pos = 0;
  // The enclosing messages: their type and where each ends.
  const types: protobuf.Type[] = [root];
  const ends: number[] = [n];
  let messages = 1;
  let nodes = 0;
  let maxDepth = 1;
  const varint = (): number => {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= ends[ends.length - 1]) throw new WireError(`the file ends inside a number at byte ${pos} (a truncated or damaged file)`);
      const b = bytes[pos++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
    }
    throw new WireError(`a number at byte ${pos - 10} is longer than 10 bytes (not protobuf: a damaged file, or not an ONNX file)`);
  };
  while (types.length) {
    const end = ends[ends.length - 1];
    if (pos === end) {
      types.pop();
      ends.pop();
      continue;
    }
    if (pos > end) throw new WireError(`a field overruns its message at byte ${end} (a truncated or damaged file)`);
    const at = pos;
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw new WireError(`field number 0 at byte ${at} (not protobuf: a damaged file, or not an ONNX file)`);
    const child = children(types[types.length - 1]).get(field);
    if (child && wire !== 2) throw new WireError(`at byte ${at}, field ${field} of ${types[types.length - 1].name} should hold a message but has wire type ${wire} (a damaged file, or not an ONNX file)`);
    switch (wire) {
      case 0:
        varint();
        break;
      case 1:
        pos += 8;
        break;
      case 5:
        pos += 4;
        break;
      case 2: {
        const len = varint();
        if (len > end - pos) {
          throw new WireError(`at byte ${at}, a field declares ${len} bytes but only ${end - pos} remain in its message (a truncated or damaged file)`);
        }
        if (!child) {
          pos += len;
          break;
        }
        if (++messages > WIRE_LIMITS.messages) throw new WireError(`the file holds more than ${WIRE_LIMITS.messages.toLocaleString('en-US')} protobuf messages, the limit (no language model the inspector can run has that many)`);
        if (child === nodeType && ++nodes > WIRE_LIMITS.nodes) throw new WireError(`the graph holds more than ${WIRE_LIMITS.nodes.toLocaleString('en-US')} nodes, the limit (GPT-2 has about 2,500)`);
        if (types.length + 1 > WIRE_LIMITS.depth) throw new WireError(`messages are nested more than ${WIRE_LIMITS.depth} deep at byte ${at}, the limit (an ONNX model nests a few levels per subgraph)`);
        types.push(child);
        ends.push(pos + len);
        if (types.length > maxDepth) maxDepth = types.length;
        break;
      }
      case 3:
      case 4:
        throw new WireError(`at byte ${at}, field ${field} uses protobuf groups (wire type ${wire}), which ONNX never writes (a damaged file, or not an ONNX file)`);
      default:
        throw new WireError(`at byte ${at}, field ${field} has the invalid wire type ${wire} (a damaged file, or not an ONNX file)`);
    }
  }
  return { messages, nodes, depth: maxDepth };
}

/**
 * The one place in the webview that knows onnxruntime-web. Two of ORT's builds are bundled into webview.js: the
 * WebGPU build (whose wasm is the asyncify binary, 27 MB) for the webgpu backend, and the plain wasm build (14 MB,
 * no asyncify) for the wasm backend, so a machine without a usable GPU fetches, compiles and runs the smaller, faster
 * binary. Each build is a separate copy of ORT (its own env and tensors): a session takes the tensors of its own
 * build, which ortFor gives. Their wasm glue (.mjs) and gzipped binaries (.wasm.gz) ship in dist/ort; ortReady
 * fetches and inflates a build's binary, and imports its glue, before its first session.
 */
import * as ort from 'onnxruntime-web/webgpu';
import * as ortWasm from 'onnxruntime-web/wasm';
import { ORT_BINARIES, ORT_GLUE } from '../../src/core/ortFiles';
import type { Backend } from '../../src/core/protocol';
import { loadFile, type FileSource } from '../fileCache';
import type { OrtModule } from './engine';
import { mark } from '../startTimeline';

export { ort, ortWasm };

/** The ORT build that runs a backend. */
export function ortFor(backend: Backend): typeof ort {
  return backend === 'webgpu' ? ort : (ortWasm as typeof ort);
}

/** The folder ORT's files are loaded from (configureOrt). */
let configuredBase: string | undefined;

/**
 * Points ORT at its shipped files. Nothing is fetched to check them here: a missing glue or binary is named when
 * ortReady loads it (an HTTP status for the binary, the file for the glue), and the host checks that they are
 * installed (PanelProvider.missingRuntimeFiles) before the panel runs anything. (Checking the glue files by HEAD
 * requests first cost a fresh window 0.3–0.7 s before the binary's download could start, measured.)
 * Returns true to the caller that configured this base first.
 */
export function configureOrt(baseUrl: string): boolean {
  if (configuredBase === baseUrl) return false;
  for (const o of [ort, ortWasm]) {
    o.env.wasm.wasmPaths = baseUrl;
    // Webviews are not cross-origin isolated: no SharedArrayBuffer, so wasm runs single-threaded.
    o.env.wasm.numThreads = 1;
    o.env.wasm.proxy = false;
    o.env.logLevel = 'warning';
  }
  configuredBase = baseUrl;
  binaries.clear();
  glues.clear();
  return true;
}

/** How a build's binary arrived: what the first-tint figures are made of. */
export interface BinaryLoad {
  file: string;
  /** Where the bytes came from: fetched (and inflated here), or the cache that an earlier window filled. */
  source: FileSource;
  /** Bytes fetched (gzipped; 0 from the cache). */
  fetchedBytes: number;
  /** Bytes handed to ORT (inflated). */
  bytes: number;
  fetchMs: number;
  inflateMs: number;
}

/**
 * Each build's binary, fetched once per base URL. ORT reads env.wasm.wasmBinary only when it starts, and its glue keeps
 * the same bytes for the page's life, so the reference here costs nothing more.
 */
const binaries = new Map<typeof ort, Promise<BinaryLoad>>();

const reinstall = 'Reinstall the extension or run "npm run build".';

/** Inflates a gzipped binary; a server that already decoded it (no gzip magic) is taken as it is. */
async function inflateIfGzipped(fetched: Uint8Array<ArrayBuffer>, file: string): Promise<Uint8Array<ArrayBuffer>> {
  if (fetched[0] !== 0x1f || fetched[1] !== 0x8b) return fetched;
  if (typeof DecompressionStream === 'undefined') throw new Error('this webview cannot inflate ONNX Runtime\'s binary (no DecompressionStream): VS Code 1.60 or later is needed');
  try {
    return new Uint8Array(await new Response(new Blob([fetched]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  } catch (e) {
    throw new Error(`ONNX Runtime file ${file} is damaged (${e instanceof Error ? e.message : String(e)}). ${reinstall}`);
  }
}

/**
 * A build's binary: from the panel's file cache (inflated, as a window before this one kept it), else fetched and
 * inflated (and kept inflated for the next window).
 */
export async function loadBinary(url: string, file: string): Promise<{ bytes: Uint8Array; load: BinaryLoad }> {
  const f = await loadFile(url, (why) => new Error(`ONNX Runtime file ${file} could not be loaded from the extension (${why}). ${reinstall}`), (b) => inflateIfGzipped(b, file));
  mark(`${file} ${f.source === 'cache' ? 'read from the cache' : 'fetched'}`);
  return { bytes: f.bytes, load: { file, source: f.source, fetchedBytes: f.fetchedBytes, bytes: f.bytes.byteLength, fetchMs: f.readMs, inflateMs: f.transformMs } };
}

/**
 * The ORT build that runs a backend, ready to create its first session: its binary fetched, inflated and handed to
 * ORT (env.wasm.wasmBinary), and its glue imported, once per build. configureOrt must have been called. Concurrent
 * callers share the fetches.
 */
export async function ortReady(backend: Backend): Promise<OrtModule> {
  const o = ortFor(backend);
  const base = configuredBase;
  if (base === undefined) throw new Error('ONNX Runtime is not configured (configureOrt) before its first use');
  let p = binaries.get(o);
  if (!p) {
    const file = ORT_BINARIES[backend];
    const mine: Promise<BinaryLoad> = loadBinary(base + file, file).then(({ bytes, load }) => {
      // A fetch from a base that configureOrt has since replaced is not handed to ORT.
      if (binaries.get(o) === mine) o.env.wasm.wasmBinary = bytes;
      return load;
    });
    p = mine;
    binaries.set(o, mine);
    mine.catch(() => {
      if (binaries.get(o) === mine) binaries.delete(o);
    });
  }
  await Promise.all([p, importGlue(o, base, backend)]);
  return o;
}

/**
 * Each build's glue module, imported once per base URL. ORT imports the same URL when it starts (its first session),
 * and the page's module map then answers at once. Imported here, beside the binary's fetch, it arrives before ORT
 * needs it; imported by ORT, it was fetched only then, while the model's file held the workbench's resource loader
 * (0.6 s of a fresh window's first tint, measured).
 */
const glues = new Map<typeof ort, Promise<unknown>>();

/** The glue's URL as ORT 1.30 forms it (so that both imports are one module): resolved, or joined when `base` is relative. */
function glueUrl(file: string, base: string): string {
  try {
    return new URL(file, base).href;
  } catch {
    return `${base}${file}`;
  }
}

function importGlue(o: typeof ort, base: string, backend: Backend): Promise<unknown> {
  let p = glues.get(o);
  if (!p) {
    const file = ORT_GLUE[backend];
    const mine = import(/* @vite-ignore */ glueUrl(file, base)).then(
      (m: unknown) => {
        mark(`${file} imported`);
        return m;
      },
      (e: unknown) => {
        throw new Error(`ONNX Runtime file ${file} could not be loaded from the extension (${e instanceof Error ? e.message : String(e)}). Reinstall the extension or run "npm run build".`);
      },
    );
    p = mine;
    glues.set(o, mine);
    mine.catch(() => {
      if (glues.get(o) === mine) glues.delete(o);
    });
  }
  return p;
}

/** How the build's binary was fetched, once it was (for the log's first-tint figures). */
export function binaryLoad(backend: Backend): Promise<BinaryLoad> | undefined {
  return binaries.get(ortFor(backend));
}

export interface OpenedSession {
  session: ort.InferenceSession;
  /** The ORT build the session belongs to: its tensors are the ones the session takes. */
  ort: OrtModule;
  /** The backend ORT actually uses: WebGPU can fall back to wasm when its device cannot be created. */
  backend: Backend;
}

export async function openSession(model: Uint8Array, backend: Backend): Promise<OpenedSession> {
  const o = await ortReady(backend);
  const session = await o.InferenceSession.create(model, {
    executionProviders: backend === 'webgpu' ? ['webgpu', 'wasm'] : ['wasm'],
    graphOptimizationLevel: 'all',
  });
  let actual: Backend = 'wasm';
  if (backend === 'webgpu') {
    const device = await Promise.resolve(ort.env.webgpu.device).catch(() => undefined);
    actual = device ? 'webgpu' : 'wasm';
  }
  return { session, ort: o, backend: actual };
}

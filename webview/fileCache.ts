/**
 * The panel's large files (a bundled model's manifest and graph, ONNX Runtime's binaries) kept in the browser's Cache
 * Storage, so that a new window reads them from disk instead of through the workbench. In code-server every byte a
 * webview fetches crosses the workbench's connection to the server: the model's 9 MB took 1.7 s of a fresh window's
 * 4 s first tint (bench/firstTint.mjs). The cache's name carries the host's stamp of the installed files (their sizes
 * and modification times), so a rebuilt or updated extension never reads an older file; older caches are deleted.
 * Where Cache Storage is missing or refuses (a quota, a browser without it), files come from the network as before.
 *
 * The page's head runs early.ts before the panel's script has loaded: it starts the first model's files here, and
 * the panel takes those loads over (takeEarly) rather than fetching the same files again.
 */
const PREFIX = 'attention-inspector-files-';
// (Two builds open in one browser at once, a checkout and an installed copy, each delete the other's cache when a
// panel starts: they cost each other downloads, never a wrong file.)

let cache: Promise<Cache | undefined> = Promise.resolve(undefined);
let openedFor: string | undefined;

/** Uses the cache of the files stamped `stamp` (no stamp: no cache); deletes the caches of other stamps. */
export function openFileCache(stamp: string | undefined): void {
  if (stamp === openedFor) return;
  openedFor = stamp;
  cache = (async () => {
    if (!stamp || typeof caches === 'undefined') return undefined;
    const name = PREFIX + stamp;
    for (const k of await caches.keys()) if (k.startsWith(PREFIX) && k !== name) void caches.delete(k).catch(() => undefined);
    return caches.open(name);
  })().catch(() => undefined);
}

/** Where a file came from, for the panel's start timeline and log. */
export type FileSource = 'cache' | 'network';

export interface LoadedFile {
  bytes: Uint8Array<ArrayBuffer>;
  source: FileSource;
  /** Bytes that came over the network (0 from the cache). */
  fetchedBytes: number;
  /** From the load's start until its bytes were read (fetched, or read from the cache), and the transform after. */
  readMs: number;
  transformMs: number;
}

/** A file's bytes from the cache, or undefined (not cached, or the cache is unavailable). */
export async function cachedFile(url: string): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const c = await cache;
  if (!c) return undefined;
  try {
    const r = await c.match(url);
    return r ? new Uint8Array(await r.arrayBuffer()) : undefined;
  } catch {
    return undefined;
  }
}

/** Keeps a file's bytes for the next window (in the background; a refusal only costs the next window a download). */
export function keepFile(url: string, bytes: Uint8Array<ArrayBuffer>): void {
  void cache.then((c) => c?.put(url, new Response(bytes))).catch(() => undefined);
}

/**
 * A file's bytes: from the cache, else fetched (an HTTP error or a network failure throws, with `describe` naming
 * the file) and kept for the next window. `transform` turns the fetched bytes into what is cached and returned (ORT's
 * binary is inflated once, not in every window).
 */
export async function loadFile(
  url: string,
  describe: (why: string) => Error,
  transform: (fetched: Uint8Array<ArrayBuffer>) => Promise<Uint8Array<ArrayBuffer>> = async (b) => b,
  signal?: AbortSignal,
): Promise<LoadedFile> {
  const t0 = performance.now();
  const hit = await cachedFile(url);
  if (hit) return { bytes: hit, source: 'cache', fetchedBytes: 0, readMs: performance.now() - t0, transformMs: 0 };
  let fetched: Uint8Array<ArrayBuffer>;
  try {
    const r = await fetch(url, { signal });
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    fetched = new Uint8Array(await r.arrayBuffer());
  } catch (e) {
    throw describe(e instanceof Error ? e.message : String(e));
  }
  const t1 = performance.now();
  const bytes = await transform(fetched);
  keepFile(url, bytes);
  return { bytes, source: 'network', fetchedBytes: fetched.byteLength, readMs: t1 - t0, transformMs: performance.now() - t1 };
}

declare global {
  interface Window {
    /** Loads early.ts started in the page's head, by URL (taken over by the panel's script). */
    attentionInspectorEarly?: Map<string, Promise<LoadedFile>>;
  }
}

/** The load of `url` the page's head started, if any (each is taken once). */
export function takeEarly(url: string): Promise<LoadedFile> | undefined {
  const m = typeof window === 'undefined' ? undefined : window.attentionInspectorEarly;
  const p = m?.get(url);
  m?.delete(url);
  return p;
}

/** Lets go of early loads nobody took (the first analysis ran another model): they hold a graph's bytes. */
export function dropEarly(): void {
  if (typeof window !== 'undefined') window.attentionInspectorEarly?.clear();
}

/**
 * ORT's files, loaded without ORT itself: a build's binary (gzipped as shipped, inflated here, kept inflated in the
 * panel's file cache) and the URL of its glue module as ORT forms it.
 */
import { ORT_GLUE } from '../../src/core/ortFiles';
import type { Backend } from '../../src/core/protocol';
import { loadFile, type LoadedFile } from '../fileCache';

const reinstall = 'Reinstall the extension or run "npm run build".';

/** Inflates a gzipped binary; a server that already decoded it (no gzip magic) is taken as it is. */
export async function inflateIfGzipped(fetched: Uint8Array<ArrayBuffer>, file: string): Promise<Uint8Array<ArrayBuffer>> {
  if (fetched[0] !== 0x1f || fetched[1] !== 0x8b) return fetched;
  if (typeof DecompressionStream === 'undefined') throw new Error('this webview cannot inflate ONNX Runtime\'s binary (no DecompressionStream): VS Code 1.60 or later is needed');
  try {
    return new Uint8Array(await new Response(new Blob([fetched]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
  } catch (e) {
    throw new Error(`ONNX Runtime file ${file} is damaged (${e instanceof Error ? e.message : String(e)}). ${reinstall}`);
  }
}

/** A build's binary from `url` (named `file` in errors): the cache's, or fetched and inflated. */
export function loadOrtBinary(url: string, file: string): Promise<LoadedFile> {
  return loadFile(url, (why) => new Error(`ONNX Runtime file ${file} could not be loaded from the extension (${why}). ${reinstall}`), (b) => inflateIfGzipped(b, file));
}

/** The glue's URL as ORT 1.30 forms it (so that both imports are one module): resolved, or joined when `base` is relative. */
export function glueUrl(base: string, backend: Backend): string {
  const file = ORT_GLUE[backend];
  try {
    return new URL(file, base).href;
  } catch {
    return `${base}${file}`;
  }
}

/**
 * Runs inline in the panel page's head (the host inlines dist/early.js with the page's nonce), before the panel's
 * script has even been fetched: starts loading the first model's manifest and graph (data-files), the largest files
 * the first analysis waits for, from the file cache or else the network. The panel's script takes these loads over
 * (fileCache.takeEarly) rather than fetching the same files again.
 *
 * Measured (bench/firstTint.mjs, alternating with the commit before): in a fresh browser profile this does not make
 * the first tint sooner on its own. In code-server the webview's downloads are served through the workbench's thread,
 * which the panel shares, so ORT's start (0.6–0.8 s of that thread) and the model's download take turns whichever
 * starts first; starting ORT's binary here before the model did not help either. In a new window (files from the
 * cache) the model was ready before ORT there too, so no gain was measured in either case: it is kept for hosts whose
 * webviews load files off the page's thread (desktop VS Code), which is not measured here.
 */
import { loadFile, openFileCache, type LoadedFile } from './fileCache';

// (A User Timing mark: the panel's start timeline lists it, so a test can see that this script ran, and when.)
performance.mark('early script');
const data = (document.currentScript as HTMLScriptElement | null)?.dataset ?? {};
const json = (s: string | undefined): unknown => {
  try {
    return JSON.parse(s ?? '');
  } catch {
    return undefined;
  }
};
openFileCache(data.fileStamp || undefined);
const early = new Map<string, Promise<LoadedFile>>();
window.attentionInspectorEarly = early;

const files = json(data.files);
for (const url of Array.isArray(files) ? files : []) {
  if (typeof url !== 'string') continue;
  const p = loadFile(url, (why) => new Error(`${url} could not be loaded early (${why})`));
  p.catch(() => undefined); // the panel loads it again, and says why if that fails too
  early.set(url, p);
}

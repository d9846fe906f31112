// Runs openModelFolder in a worker thread: decoding and rewriting a large ONNX graph takes seconds of CPU, which must
// not stall the extension host (every extension's hovers and commands run on its thread).
import { parentPort, workerData } from 'node:worker_threads';
import { openModelFolder, type OpenOptions } from './openModelFolder';
import { PackageError } from './packageValidator';

const { folder, options } = workerData as { folder: string; options: OpenOptions };
openModelFolder(folder, options).then(
  (prepared) => parentPort!.postMessage({ ok: true, prepared }),
  (e: unknown) => parentPort!.postMessage({ ok: false, problems: e instanceof PackageError ? e.problems : [e instanceof Error ? e.message : String(e)] }),
);

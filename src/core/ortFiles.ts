/**
 * The onnxruntime-web files the webview loads at run time: ORT's WebGPU build (asyncify) and its plain wasm build,
 * which the wasm backend uses (about half the size to fetch and compile, and faster without asyncify). Their JS is
 * bundled into webview.js; these files are fetched through asWebviewUri. The build copies the glue (.mjs) to
 * dist/ort/ and writes the binaries gzipped (.wasm.gz: 13.6 and 25.5 MiB become 3.5 and 6.3 MiB), because a webview reads
 * every byte through the workbench's resource loader; the webview inflates them (DecompressionStream) and hands ORT
 * the bytes (env.wasm.wasmBinary).
 */
export const ORT_DIR = 'dist/ort';
/** The binary of each build, as shipped (gzipped); ORT's own name is this without `.gz`. */
export const ORT_BINARIES = { webgpu: 'ort-wasm-simd-threaded.asyncify.wasm.gz', wasm: 'ort-wasm-simd-threaded.wasm.gz' } as const;
/** The wasm glue (an ES module ORT imports when it starts) of each build. */
export const ORT_GLUE = { webgpu: 'ort-wasm-simd-threaded.asyncify.mjs', wasm: 'ort-wasm-simd-threaded.mjs' } as const;
export const ORT_RUNTIME_FILES = [ORT_GLUE.webgpu, ORT_BINARIES.webgpu, ORT_GLUE.wasm, ORT_BINARIES.wasm] as const;

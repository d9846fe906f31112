/**
 * The onnxruntime-web files the webview loads at run time: ORT's WebGPU build (asyncify) and its plain wasm build,
 * which the wasm backend uses (about half the size to fetch and compile, and faster without asyncify). Their JS is
 * bundled into webview.js; these files are fetched through asWebviewUri. The build copies them to dist/ort/.
 */
export const ORT_DIR = 'dist/ort';
export const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'] as const;

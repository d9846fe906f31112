/**
 * The onnxruntime-web files the webview loads at run time (ORT's WebGPU build; its JS is bundled into
 * webview.js, these two are fetched through asWebviewUri). The build copies them to dist/ort/.
 */
export const ORT_DIR = 'dist/ort';
export const ORT_RUNTIME_FILES = ['ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'] as const;

// Starts code-server on 127.0.0.1 with the extension under development and a sample file open; prints the URL.
// 127.0.0.1 matters: the webview needs a secure context for WebGPU and its service worker.
import { freshProfile, startCodeServer, workbenchUrl, ROOT } from './codeServer.mjs';

const [folder, file] = process.argv.slice(2);
const port = Number(process.env.PORT ?? 8080);
const cs = await startCodeServer({ profile: freshProfile(), port });
const url = workbenchUrl(cs.url, { folder, extensionDevelopmentPath: ROOT, openFile: file });
console.log(`\nAttention Inspector is running in code-server. Open this URL in Chromium or Chrome:\n\n  ${url}\n`);
console.log('For WebGPU on Linux start the browser with --enable-unsafe-webgpu; without an adapter the panel uses WebAssembly.');
console.log('Then run "Attention Inspector: Check Runtime" from the Command Palette (F1). Ctrl+C stops the server.\n');
const stop = async () => {
  await cs.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

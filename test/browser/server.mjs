// Static server for the browser tests and benchmarks: 127.0.0.1 (a secure context, as WebGPU needs), only the
// folders the pages load from (and onnxruntime-web's own files, which a test compares with what dist/ort ships).
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';

const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.onnx': 'application/octet-stream', '.html': 'text/html', '.map': 'application/json', '.json': 'application/json' };

export async function serve(root, pageScript) {
  const page = `<!DOCTYPE html><meta charset="utf-8"><title>attention inspector</title><script type="module" src="${pageScript}"></script>`;
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    const file = normalize(join(root, path));
    if (!file.startsWith(root) || !/^\/(dist|out|media\/models|test\/fixtures|node_modules\/onnxruntime-web\/dist)\//.test(path) || !existsSync(file) || !statSync(file).isFile()) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => server.close() };
}

// A tiny static server for dist/web/ on 127.0.0.1 (default port 8080, --port N, --dir DIR) that sends the
// cross-origin-isolation headers (COOP/COEP) SharedArrayBuffer needs, so the wasm backend can use threads.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json',
  '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png', '.jpg': 'image/jpeg',
  '.safetensors': 'application/octet-stream',
};

export function serveWeb(dir, port = 8080, host = '127.0.0.1') {
  const base = resolve(dir);
  const server = createServer(async (req, res) => {
    const headers = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin', 'Cache-Control': 'no-cache' };
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      let file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
      if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  return new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(port, host, () => ok(server));
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(name);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const port = Number(arg('--port', '8080'));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: --port must be a port number, got ${arg('--port')}`);
    process.exit(2);
  }
  const dir = arg('--dir', join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'web'));
  const server = await serveWeb(dir, port);
  console.log(`finercam page: http://127.0.0.1:${server.address().port}/  (serving ${resolve(dir)}; Ctrl-C stops)`);
}

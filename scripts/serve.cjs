#!/usr/bin/env node
/**
 * Static file server for the browser examples and the browser tests. Serves the repository
 * root (examples/, dist/, cli/data/, node_modules/) on localhost with the headers threaded wasm
 * needs: COOP `same-origin` + COEP `require-corp` make the page cross-origin isolated, so
 * SharedArrayBuffer exists and tfjs-backend-wasm loads its threaded SIMD build.
 *
 *     npm run build && node scripts/serve.cjs [port]     # then open the printed URLs
 *
 * Only GET and HEAD; paths are resolved inside the root (no `..` escapes); no caching, so a
 * rebuilt dist/ is picked up on reload.
 */
'use strict';

const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const CONTENT_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.cjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  // Served as bytes: the page decompresses with DecompressionStream. A Content-Encoding header
  // would make the browser inflate it first.
  '.gz': 'application/gzip',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/**
 * Starts the server.
 * @param {{root?: string, port?: number, host?: string}} [options] root folder (default: the
 *   repository root), port (default 0: any free port), host (default 127.0.0.1).
 * @returns {Promise<{url: string, port: number, close: () => Promise<void>}>} `url` ends in '/'.
 */
function startStaticServer(options = {}) {
  const root = path.resolve(options.root ?? path.join(__dirname, '..'));
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((request, response) => serve(root, request, response));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      const { port } = server.address();
      resolve({
        url: `http://${host}:${port}/`,
        port,
        close: () =>
          new Promise((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function serve(root, request, response) {
  const send = (status, body, headers = {}) => {
    response.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', ...headers });
    response.end(request.method === 'HEAD' ? undefined : body);
  };
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(405, 'Method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  let pathname;
  try {
    pathname = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
  } catch {
    send(400, 'Bad request\n');
    return;
  }
  let file = path.join(root, pathname);
  if (file !== root && !file.startsWith(root + path.sep)) {
    send(403, 'Forbidden\n');
    return;
  }
  fs.stat(file, (error, stats) => {
    if (!error && stats.isDirectory()) {
      if (!pathname.endsWith('/')) {
        send(301, '', { Location: `${pathname}/` });
        return;
      }
      file = path.join(file, 'index.html');
      stats = fs.existsSync(file) ? fs.statSync(file) : null;
    }
    if (error || stats == null || !stats.isFile()) {
      send(404, `Not found: ${pathname}\n`);
      return;
    }
    response.writeHead(200, {
      ...ISOLATION_HEADERS,
      'Content-Type': CONTENT_TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'Content-Length': stats.size,
      'Cache-Control': 'no-store',
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    fs.createReadStream(file).pipe(response);
  });
}

module.exports = { startStaticServer };

if (require.main === module) {
  const port = process.argv[2] === undefined ? 8080 : Number(process.argv[2]);
  startStaticServer({ port }).then(({ url }) => {
    console.log(`Serving ${path.resolve(__dirname, '..')} at ${url}`);
    console.log(`  ${url}examples/browser/index.html?backend=webgl   (also wasm, webgpu, cpu)`);
    console.log(`  ${url}examples/browser/module.html`);
    console.log(`  ${url}examples/ml5/index.html`);
    console.log('Ctrl+C stops it.');
  });
}

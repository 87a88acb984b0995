/** scripts/serve.cjs, the static server of the browser examples and tests (no browser needed). */
import * as http from 'node:http';

const { startStaticServer } = require('../../scripts/serve.cjs') as {
  startStaticServer(options?: { port?: number }): Promise<{ url: string; close(): Promise<void> }>;
};

function get(url: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    // http.request keeps the path as written (fetch would normalise '..' away).
    const request = http.request(url, { method }, (response) => {
      let body = '';
      response.setEncoding('latin1');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('scripts/serve.cjs', () => {
  let server: { url: string; close(): Promise<void> };
  beforeAll(async () => {
    server = await startStaticServer();
  });
  afterAll(() => server.close());

  it('serves repository files with the cross-origin isolation headers wasm threads need', async () => {
    const response = await get(`${server.url}examples/browser/index.html`);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(response.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(response.body).toContain('tfjs-gala.global.js');
  });

  it('serves .wasm as application/wasm and .gz as bytes, without Content-Encoding', async () => {
    const wasm = await get(`${server.url}node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm`, 'HEAD');
    expect(wasm.status).toBe(200);
    expect(wasm.headers['content-type']).toBe('application/wasm');
    const gz = await get(`${server.url}cli/data/fashion-mnist-lt/train-labels-idx1-ubyte.gz`);
    expect(gz.headers['content-type']).toBe('application/gzip');
    expect(gz.headers['content-encoding']).toBeUndefined();
    expect(gz.body.charCodeAt(0)).toBe(0x1f);
    expect(gz.body.charCodeAt(1)).toBe(0x8b);
  });

  it('answers 404 for a missing file and 403 for a path that leaves the repository', async () => {
    expect((await get(`${server.url}examples/none.html`)).status).toBe(404);
    expect((await get(`${server.url}..%2f..%2fetc%2fpasswd`)).status).toBe(403);
  });

  it('redirects a folder without a trailing slash and accepts only GET and HEAD', async () => {
    const folder = await get(`${server.url}examples/browser`);
    expect(folder.status).toBe(301);
    expect(folder.headers.location).toBe('/examples/browser/');
    expect((await get(`${server.url}examples/browser/index.html`, 'POST')).status).toBe(405);
  });
});

/**
 * The static-file server of the in-browser example: the page, its ES modules, the vendored runtime files
 * (`@mtailor/preprocess`, onnxruntime-web's WASM build, the mozjpeg WASM decoder), the model and the labels.
 * Nothing is computed on the server: every image is decoded, preprocessed and classified in the browser.
 *
 * A small `node:http` handler rather than a framework: it serves a fixed list of roots, GET/HEAD only, with the
 * cross-origin-isolation headers that onnxruntime-web needs for WASM threads.
 * @module
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGENET1K_LABELS } from '@mtailor/core';
import { readModelFile } from '@mtailor/core/internal';
import { BrowserServerError } from './errors.js';

/**
 * Options of {@link startServer}.
 *
 * @example
 * ```ts
 * const options: ServerOptions = { host: '127.0.0.1', port: 0, model: 'resnet18.onnx', labels: ['cat', 'dog'] };
 * ```
 */
export interface ServerOptions {
  /** Interface to listen on. Default `'127.0.0.1'` (loopback only). */
  host?: string;
  /** TCP port; `0` picks a free one. Default `8081`. */
  port?: number;
  /** The ONNX model served at `/model.onnx` (the page's default model). Default {@link defaultModelPath}. */
  model?: string;
  /** Class labels served at `/labels.json`, in class-index order. Default: the ImageNet-1k labels of `@mtailor/core`. */
  labels?: readonly string[];
}

/**
 * A running server.
 *
 * @example
 * ```ts
 * const server: RunningServer = await startServer({ port: 0 });
 * await fetch(`${server.url}/model.onnx`); // the model file
 * await server.close();
 * ```
 */
export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:8081`. */
  url: string;
  /** Absolute path of the model served at `/model.onnx`. */
  model: string;
  /** The underlying Node server. */
  server: http.Server;
  /** Stops accepting connections and closes open ones. */
  close(): Promise<void>;
}

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = path.resolve(packageDir, '..', '..');
const require = createRequire(import.meta.url);

/**
 * The model the page uses by default: `MTAILOR_MODEL` (relative paths resolved against the directory pnpm was
 * started from, `INIT_CWD`, else the current directory), else the shared int8 MobileNetV2
 * (`<repo>/../shared/models/mobilenet_v2_int8_qdq.onnx`).
 *
 * @example
 * ```ts
 * defaultModelPath({ MTAILOR_MODEL: '/models/resnet18.onnx' }); // '/models/resnet18.onnx'
 * ```
 */
export function defaultModelPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MTAILOR_MODEL) return path.resolve(env.INIT_CWD ?? process.cwd(), env.MTAILOR_MODEL);
  return path.resolve(repoRoot, '..', 'shared', 'models', 'mobilenet_v2_int8_qdq.onnx');
}

/** The folder of an installed package (resolved through its exported `package.json`, or its main entry). */
function packageRoot(name: string, entry = `${name}/package.json`): string {
  return path.dirname(require.resolve(entry));
}

/** URL prefix → folder on disk, plus which files of it may be served (`undefined` = all). */
interface Mount {
  prefix: string;
  dir: string;
  allow?: ReadonlySet<string>;
  /** Only files with this extension (the page's folder also holds tsc's declarations and build info). */
  ext?: string;
}

/**
 * The files the page loads. onnxruntime-web ships ≈ 85 MB of builds (WebGPU, JSEP, JSPI…); only the plain
 * WASM one is served: `ort.wasm.min.mjs`, its Emscripten loader and the SIMD+threads binary.
 */
function mounts(): Mount[] {
  // onnxruntime-web exports no package.json; its Node entry (dist/ort.node.min.js) sits beside the browser files.
  const ortDist = path.dirname(require.resolve('onnxruntime-web'));
  const jsquash = packageRoot('@jsquash/jpeg', '@jsquash/jpeg/package.json');
  const preprocess = path.join(packageRoot('@mtailor/preprocess'), 'dist');
  return [
    { prefix: '/app/', dir: path.join(packageDir, 'dist', 'page'), ext: '.js' },
    { prefix: '/vendor/preprocess/', dir: preprocess },
    {
      // @mtailor/core's `./predictions` entry and the one module it imports: logits → top-k, as the server does it.
      prefix: '/vendor/core/',
      dir: path.join(packageRoot('@mtailor/core'), 'dist', 'classifier'),
      allow: new Set(['predictions.js', 'softmax.js']),
    },
    {
      prefix: '/vendor/ort/',
      dir: ortDist,
      allow: new Set(['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm']),
    },
    {
      prefix: '/vendor/jsquash-jpeg/',
      dir: jsquash,
      allow: new Set([
        'decode.js',
        'utils.js',
        'meta.js',
        'codec/dec/mozjpeg_dec.js',
        'codec/dec/mozjpeg_dec.wasm',
      ]),
    },
    { prefix: '/', dir: path.join(packageDir, 'www') },
  ];
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/**
 * Headers on every response. COOP + COEP make the page cross-origin isolated, which onnxruntime-web needs for
 * `SharedArrayBuffer` (WASM threads); CORP lets the isolated page load our own files. `no-cache` still allows
 * 304 revalidation (ETag), so a reload does not transfer the 14 MB WASM binary again.
 */
const COMMON_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
} as const;

/**
 * The model and the labels may be used by other pages too (`?model=` of a page on another origin): readable
 * cross-origin, with CORS, also from cross-origin-isolated pages.
 */
const SHARED_HEADERS = {
  'Cross-Origin-Resource-Policy': 'cross-origin',
  'Access-Control-Allow-Origin': '*',
} as const;

/** Resolves a request path inside a mount; `undefined` for anything outside it or not allowed. */
async function resolveFile(urlPath: string, table: readonly Mount[]): Promise<string | undefined> {
  for (const m of table) {
    if (!urlPath.startsWith(m.prefix)) continue;
    let rel = urlPath.slice(m.prefix.length);
    if (rel === '' && m.prefix === '/') rel = 'index.html';
    if (m.allow && !m.allow.has(rel)) return undefined;
    if (m.ext && path.extname(rel) !== m.ext) return undefined;
    const candidate = path.resolve(m.dir, rel);
    if (!candidate.startsWith(m.dir + path.sep)) return undefined;
    try {
      // pnpm links packages; compare real paths so a link inside a mount cannot lead outside it.
      const [real, realDir] = await Promise.all([realpath(candidate), realpath(m.dir)]);
      if (!real.startsWith(realDir + path.sep)) return undefined;
      return real;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function checkOptions(options: ServerOptions): void {
  const { port, host, model, labels } = options;
  if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port <= 65535))
    throw new BrowserServerError(
      'INVALID_OPTION',
      `Expected integer between 0 and 65535 for port but received ${String(port)} of type ${typeof port}`,
    );
  if (host !== undefined && (typeof host !== 'string' || host === ''))
    throw new BrowserServerError(
      'INVALID_OPTION',
      `Expected non-empty string for host but received ${String(host)} of type ${typeof host}`,
    );
  if (model !== undefined && (typeof model !== 'string' || model === ''))
    throw new BrowserServerError(
      'INVALID_OPTION',
      `Expected non-empty string for model but received ${String(model)} of type ${typeof model}`,
    );
  if (labels !== undefined && !(Array.isArray(labels) && labels.every((l) => typeof l === 'string')))
    throw new BrowserServerError('INVALID_OPTION', 'Expected array of strings for labels');
}

/**
 * Starts the static server.
 *
 * @throws {@link BrowserServerError} `INVALID_OPTION` for a bad option, `MODEL_NOT_FOUND` when the model file is
 * missing, `ASSET_NOT_FOUND` when the page has not been built (`pnpm build`); `@mtailor/core`'s
 * `ExternalDataMissingError` / `ExternalDataPathError` when the model's external-data file is missing or outside its
 * folder (a model with external data is served inlined, as one file).
 *
 * @example
 * ```ts
 * import { startServer } from '@mtailor/example-browser';
 * const server = await startServer({ port: 0 });
 * console.log(`open ${server.url}/`);
 * await server.close();
 * ```
 */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8081;
  const model = path.resolve(options.model ?? defaultModelPath());
  const modelStat = await stat(model).catch(() => undefined);
  if (!modelStat?.isFile())
    throw new BrowserServerError(
      'MODEL_NOT_FOUND',
      `Model file not found: ${model}. Set MTAILOR_MODEL to an ONNX image classifier.`,
    );
  const table = mounts();
  const entry = path.join(packageDir, 'dist', 'page', 'main.js');
  if (!(await stat(entry).catch(() => undefined))?.isFile())
    throw new BrowserServerError(
      'ASSET_NOT_FOUND',
      `The page is not built (${entry} missing): run pnpm build.`,
    );
  const labelsBody = Buffer.from(JSON.stringify(options.labels ?? IMAGENET1K_LABELS));
  // A model whose weights are in a data file beside it (torch ≥ 2.9's default) is served as one self-contained
  // model, read with its data as @mtailor/core reads it: the page loads `/model.onnx` alone, as for any model.
  const modelFile = await readModelFile(model);
  const inlinedModel =
    modelFile.externalDataFiles.length > 0 && typeof modelFile.model !== 'string'
      ? Buffer.from(modelFile.model.buffer, modelFile.model.byteOffset, modelFile.model.byteLength)
      : undefined;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, COMMON_HEADERS);
      res.end();
      console.error(err);
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { ...COMMON_HEADERS, Allow: 'GET, HEAD' }).end();
      return;
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      res.writeHead(400, COMMON_HEADERS).end();
      return;
    }
    const inMemory =
      urlPath === '/labels.json' ? labelsBody : urlPath === '/model.onnx' ? inlinedModel : undefined;
    if (inMemory) {
      res.writeHead(200, {
        ...COMMON_HEADERS,
        ...SHARED_HEADERS,
        'Content-Type': urlPath === '/labels.json' ? CONTENT_TYPES['.json'] : 'application/octet-stream',
        'Content-Length': inMemory.length,
      });
      res.end(req.method === 'HEAD' ? undefined : inMemory);
      return;
    }
    const file = urlPath === '/model.onnx' ? model : await resolveFile(urlPath, table);
    const info = file ? await stat(file).catch(() => undefined) : undefined;
    if (!file || !info?.isFile()) {
      res.writeHead(404, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : `Not found: ${urlPath}\n`);
      return;
    }
    const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = {
      ...COMMON_HEADERS,
      ...(file === model ? SHARED_HEADERS : {}),
      'Content-Type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
      ETag: etag,
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'Content-Length': info.size });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    const stream = createReadStream(file);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    model,
    server,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * Test helpers: a real server on 127.0.0.1 with the shared int8 model, a local image file server, and a
 * connection guard that records every outgoing `image_url` connection and refuses any that is not loopback —
 * so a test proving an address is refused cannot reach it even if the address policy were wrong.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type ConnectTarget,
  createServer,
  type Resolver,
  resolveConfig,
  type ServerConfig,
} from '@mtailor/server';
import type { FastifyInstance } from 'fastify';
import { shared } from './shared-data.js';

export { shared };

/** A 32-character token for tests. */
export const TOKEN = 'test-token-0123456789abcdef-0123';

const isLoopback = (ip: string): boolean => /^127\./.test(ip) || ip === '::1' || ip === '::ffff:127.0.0.1';

/** Records every connection `image_url` makes; throws (refusing it) for anything not on loopback. */
export class ConnectionGuard {
  readonly attempts: ConnectTarget[] = [];
  readonly refusedNonLoopback: ConnectTarget[] = [];
  readonly hook = (target: ConnectTarget): void => {
    this.attempts.push(target);
    if (!isLoopback(target.ip)) {
      this.refusedNonLoopback.push(target);
      throw new Error(`test guard: refusing a non-loopback connection to ${target.ip}`);
    }
  };
}

/** A resolver with fixed answers (names not listed fail), so no test depends on or queries real DNS. */
export function fixedResolver(table: Record<string, string[]>): Resolver {
  return async (hostname) => {
    const answers = table[hostname.toLowerCase()];
    if (answers)
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }) as const);
    if (/^[\d.]+$/.test(hostname)) return [{ address: hostname, family: 4 }];
    if (hostname.includes(':')) return [{ address: hostname, family: 6 }];
    throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  };
}

/** A running server. */
export interface TestServer {
  app: FastifyInstance;
  url: string;
  config: ServerConfig;
  guard: ConnectionGuard;
  close: () => Promise<void>;
}

/** Starts the real server on 127.0.0.1 (ephemeral port) and waits until it is ready. */
export async function startServer(
  overrides: Partial<ServerConfig> = {},
  resolve?: Resolver,
): Promise<TestServer> {
  const config = resolveConfig({
    modelPath: shared.int8Model,
    host: '127.0.0.1',
    port: 0,
    preprocessWorkers: 2,
    intraOpThreads: 2,
    logLevel: 'silent',
    apiKey: TOKEN,
    ...overrides,
  });
  const guard = new ConnectionGuard();
  const app = await createServer(config, { urlFetch: { onConnect: guard.hook, resolve }, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  await app.mtailor.whenReady();
  const { port } = app.server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, config, guard, close: () => app.close() };
}

/** A local HTTP server on 127.0.0.1 serving routes from a table; counts requests per path. */
export async function startFileServer(
  routes: Record<string, { status?: number; type?: string; body?: Uint8Array | string; location?: string }>,
  host = '127.0.0.1',
): Promise<{ origin: string; port: number; hits: Map<string, number>; close: () => Promise<void> }> {
  const hits = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const p = (req.url ?? '/').split('?')[0] ?? '/';
    hits.set(p, (hits.get(p) ?? 0) + 1);
    const route = routes[p];
    if (!route) {
      res.writeHead(404).end('not found');
      return;
    }
    const headers: Record<string, string> = {};
    if (route.type) headers['content-type'] = route.type;
    if (route.location) headers.location = route.location;
    res.writeHead(route.status ?? 200, headers).end(route.body ?? '');
  });
  await new Promise<void>((r) => server.listen(0, host, r));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://${host}:${port}`,
    port,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/**
 * A parsed JSON reply. Replies are checked field by field by the assertions, which is clearer than declaring
 * every reply type again in the tests.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above
export type JsonReply = any;

/** The JSON body of a fetch Response. */
export const json = async (res: Response): Promise<JsonReply> => res.json();

/** The shared tench and mud-turtle JPEG bytes. */
export const images = {
  tench: readFileSync(shared.tench),
  mudTurtle: readFileSync(shared.mudTurtle),
};

/** JSON POST helper. */
export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: JsonReply; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = text;
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** A server running as its own process (as in the container). */
export interface ServerProcess {
  url: string;
  child: import('node:child_process').ChildProcess;
  output: () => string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/**
 * Runs `command args` in `cwd` with exactly `env` (plus PATH), waits until `/ready` answers 200.
 */
export async function spawnServer(
  command: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
  port: number,
): Promise<ServerProcess> {
  const { spawn } = await import('node:child_process');
  const child = spawn(command, args, { cwd, env: { PATH: process.env.PATH ?? '', ...env }, stdio: 'pipe' });
  let out = '';
  child.stdout?.on('data', (d) => {
    out += d;
  });
  child.stderr?.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let lastExit: number | null | undefined;
  void exited.then((c) => {
    lastExit = c;
  });
  for (;;) {
    if (lastExit !== undefined) throw new Error(`server exited (${lastExit}) before ready:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready after 60 s:\n${out}`);
    }
    try {
      const res = await fetch(`${url}/ready`);
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    child,
    output: () => out,
    exited,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

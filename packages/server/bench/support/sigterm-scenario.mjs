/**
 * The SIGTERM-under-load scenario of issue 12, shared by `bench/sigterm.bench.mjs` (3 runs) and
 * `test/shutdown.test.ts` (one run): the server as its own process (`bin/mtailor-server.js`), `total` POST /predict
 * requests (raw JPEG bytes) at `concurrency`, every request on a new TCP connection (no agent, no keep-alive), and
 * SIGTERM to the process after `sigtermAfter` answers. Each request records when it started (before or after the
 * signal) and how it ended: an HTTP status and class, or the socket error (ECONNRESET, ECONNREFUSED, …).
 * Also the one way the benches and process tests start the server (`startServerProcess`). Loopback only.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Starts `bin/mtailor-server.js` in `cwd` with `env` on a free loopback port; resolves once `/ready` is 200. */
export async function startServerProcess(cwd, env) {
  const port = await freePort();
  const child = spawn(process.execPath, ['bin/mtailor-server.js'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  const exited = new Promise((r) =>
    child.once('exit', (code, signal) => r({ code, signal, at: performance.now() })),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`server exited (${child.exitCode}) before ready:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server not ready within 120 s:\n${output}`);
    }
    const status = await get(port, '/ready').then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, port, url, exited, output: () => output };
}

/** One request on its own connection: `{ status, body }` or `{ error }` (the socket error's code). */
function send(port, method, path, headers, body) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', (err) => resolve({ error: err.code ?? err.message }));
    });
    req.on('error', (err) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

/** GET on its own connection. */
export function get(port, path, headers = {}) {
  return send(port, 'GET', path, headers, undefined).then((r) =>
    r.error ? Promise.reject(new Error(r.error)) : r,
  );
}

/**
 * Runs the scenario against a started server process. `image` is a JPEG (Buffer), `expectedClass` its class.
 * `onSigterm(port)` runs right after the signal (e.g. to probe /ready). Returns every request's outcome and a summary.
 */
export async function sigtermUnderLoad({
  server,
  image,
  expectedClass,
  token,
  total = 300,
  concurrency = 32,
  sigtermAfter = 100,
  onSigterm,
}) {
  const headers = { 'content-type': 'image/jpeg', 'content-length': String(image.length) };
  if (token) headers.authorization = `Bearer ${token}`;
  const results = [];
  let next = 0;
  let answered = 0;
  let sigtermAt;
  let probe;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      const start = performance.now();
      const beforeSigterm = sigtermAt === undefined;
      const r = await send(server.port, 'POST', '/predict', headers, image);
      let classId;
      if (r.status === 200) classId = JSON.parse(r.body).prediction?.class_id;
      else if (r.body) {
        try {
          r.code = JSON.parse(r.body).error?.code;
        } catch {}
      }
      results.push({
        i,
        beforeSigterm,
        start,
        end: performance.now(),
        status: r.status,
        code: r.code,
        error: r.error,
        connection: r.headers?.connection,
        classId,
      });
      answered += 1;
      if (answered === sigtermAfter && sigtermAt === undefined) {
        sigtermAt = performance.now();
        server.child.kill('SIGTERM');
        if (onSigterm) probe = onSigterm(server.port);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const exit = await server.exited;
  const before = results.filter((r) => r.beforeSigterm);
  const after = results.filter((r) => !r.beforeSigterm);
  const inFlight = before.filter((r) => r.end > sigtermAt);
  const count = (rs, f) => rs.filter(f).length;
  const outcome = (r) => (r.status !== undefined ? `${r.status}${r.code ? ` ${r.code}` : ''}` : r.error);
  const tally = (rs) => {
    const t = {};
    for (const r of rs) t[outcome(r)] = (t[outcome(r)] ?? 0) + 1;
    return t;
  };
  return {
    results,
    probe: await probe,
    exit,
    summary: {
      sentBeforeSigterm: before.length,
      inFlightAtSigterm: inFlight.length,
      inFlightAnswered200: count(inFlight, (r) => r.status === 200 && r.classId === expectedClass),
      beforeSigterm: tally(before),
      afterSigterm: tally(after),
      resets: count(
        results,
        (r) => r.error === 'ECONNRESET' || r.error === 'socket hang up' || r.error === 'EPIPE',
      ),
      exitCode: exit.code,
      exitMsAfterSigterm: Math.round(exit.at - sigtermAt),
    },
  };
}

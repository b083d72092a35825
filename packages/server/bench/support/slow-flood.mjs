/**
 * The slow-body flood of issue 12, shared by `bench/slow-body-flood.bench.mjs` and `test/slow-bodies.test.ts`:
 * `flood` authorised POST /predict requests declaring `Content-Length: 200000` and sending their body one byte every
 * `trickleMs` (raw sockets), and alongside, normal predictions (the tench as base64 JSON) one after another on a
 * keep-alive connection; the normal ones' latencies are what counts. Loopback only.
 */
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

/** Opens `count` trickling uploads to `port`; returns a stop function (closes every socket) and live counters. */
export function startSlowFlood({ port, token, count = 300, declaredBytes = 200_000, trickleMs = 500 }) {
  const sockets = [];
  const stats = { opened: 0, closedByServer: 0, replies: {} };
  let stopped = false;
  for (let i = 0; i < count; i++) {
    const socket = net.connect(port, '127.0.0.1');
    socket.setNoDelay(true);
    sockets.push(socket);
    socket.on('connect', () => {
      stats.opened += 1;
      socket.write(
        `POST /predict HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: image/jpeg\r\n` +
          `${token ? `authorization: Bearer ${token}\r\n` : ''}content-length: ${declaredBytes}\r\n\r\n`,
      );
    });
    let head = '';
    socket.on('data', (d) => {
      if (head === '') {
        head = d.toString('latin1').split('\r\n')[0] ?? '';
        stats.replies[head] = (stats.replies[head] ?? 0) + 1;
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      if (!stopped) stats.closedByServer += 1;
    });
  }
  let sent = 0;
  const timer = setInterval(() => {
    for (const s of sockets) if (s.writable && sent < declaredBytes - 1) s.write('x');
    sent += 1;
  }, trickleMs);
  return {
    stats,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      for (const s of sockets) s.destroy();
    },
  };
}

/**
 * Sends `count` normal predictions (JSON `body`), one every `intervalMs` whatever the answers (open loop: a slow
 * answer does not delay the next request, as with independent clients), on keep-alive connections; resolves with
 * each one's latency (ms), status and class.
 */
export async function normalPredictions({ port, token, body, count, intervalMs }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const one = () =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/predict',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': String(body.length),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const ms = performance.now() - t0;
            const text = Buffer.concat(chunks).toString();
            let classId;
            if (res.statusCode === 200) classId = JSON.parse(text).prediction?.class_id;
            resolve({ ms, status: res.statusCode, classId });
          });
        },
      );
      req.on('error', (err) => resolve({ ms: performance.now() - t0, error: err.code ?? err.message }));
      req.end(body);
    });
  const pending = [];
  try {
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + i * intervalMs - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      pending.push(one());
    }
    return await Promise.all(pending);
  } finally {
    agent.destroy();
  }
}

/** p-th percentile (nearest rank) of numbers. */
export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

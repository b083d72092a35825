/**
 * A shutdown that loses no request: stop listening only after a loop turn that took every connection already
 * waiting in the kernel's listen backlog, then serve every request on every accepted connection (each reply with
 * `Connection: close`), and only then let the server close.
 *
 * Why this is more than `server.close()`: Node's `http.Server.close()` first calls `closeIdleConnections()`, and a
 * connection accepted a moment ago whose request bytes have not been read yet counts as idle — it is closed with
 * its request unread (the client sees a reset). And closing the listening socket resets every connection the
 * kernel completed but Node had not accepted yet. Under load both happen to requests a client already sent.
 * @module
 */
import type { Server } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/**
 * How long a connection accepted from the backlog may take to start its request once the server stopped listening.
 * Its request is normally already in the socket's buffer (it was sent with or right after the handshake); this only
 * bounds connections that send nothing (a TCP probe, a client's spare pooled connection).
 */
export const FRESH_CONNECTION_GRACE_MS = 1000;

interface ConnectionState {
  /** Requests on this connection whose response is not finished. */
  active: number;
  /** Requests on this connection answered so far. */
  served: number;
}

/** What {@link ConnectionDrain.drain} did. */
export interface DrainResult {
  /** Connections open when the server stopped listening. */
  connections: number;
  /** Connections closed because they sent no request within the grace, or were idle keep-alive connections. */
  closedIdle: number;
  /** Connections still busy when `timeoutMs` ran out, destroyed (their requests are lost). */
  forced: number;
}

/**
 * Tracks the connections of an HTTP server and drains them.
 *
 * @example
 * ```ts
 * const drain = new ConnectionDrain(app.server); // before listen()
 * // … on shutdown, before app.close():
 * const { forced } = await drain.drain({ timeoutMs: 25_000 });
 * await app.close(); // nothing left to wait for
 * ```
 */
export class ConnectionDrain {
  readonly #connections = new Map<Socket, ConnectionState>();
  #stopped = false;
  readonly #idleAfterStop = new Set<Socket>();
  /** Resolves {@link drain}'s wait when the last connection closes. */
  #emptied: (() => void) | undefined;

  readonly #server: Server;

  constructor(server: Server) {
    this.#server = server;
    server.on('connection', (socket: Socket) => {
      this.#connections.set(socket, { active: 0, served: 0 });
      socket.once('close', () => {
        this.#connections.delete(socket);
        this.#idleAfterStop.delete(socket);
        if (this.#connections.size === 0) this.#emptied?.();
      });
    });
    // Also emitted for requests that sent `Expect: 100-continue` (server.ts routes those as plain requests).
    server.on('request', (req, res) => {
      const state = this.#connections.get(req.socket);
      if (!state) return;
      state.active += 1;
      res.once('close', () => {
        state.active -= 1;
        state.served += 1;
        // A keep-alive connection whose reply went out before the drain began (without `Connection: close`):
        // nothing more will come on it that we want.
        if (this.#stopped && state.active === 0 && !req.socket.destroyed) req.socket.destroySoon();
      });
    });
  }

  /** Open connections. */
  get size(): number {
    return this.#connections.size;
  }

  /**
   * Stops listening once a loop turn has accepted the whole backlog, then waits until every connection is closed:
   * busy ones finish their requests (the caller makes every reply `Connection: close`), idle keep-alive ones are
   * closed at once, fresh ones get {@link FRESH_CONNECTION_GRACE_MS} to start their request. Connections still open
   * after `timeoutMs` are destroyed.
   */
  async drain(options: { timeoutMs: number; graceMs?: number }): Promise<DrainResult> {
    const graceMs = Math.min(options.graceMs ?? FRESH_CONNECTION_GRACE_MS, options.timeoutMs);
    // libuv accepts every pending connection each time the listening socket is readable (in the loop's poll
    // phase). Two check-phase hops put one whole poll phase, begun after this call, before the close: everything
    // that reached the backlog before now has been accepted by then.
    await new Promise<void>((r) => setImmediate(r));
    await new Promise<void>((r) => setImmediate(r));
    this.#stopListening();
    const result: DrainResult = { connections: this.#connections.size, closedIdle: 0, forced: 0 };
    for (const [socket, state] of this.#connections) {
      if (state.active > 0) continue;
      // Idle keep-alive: its last reply is out; Node's own close() would close it too.
      if (state.served > 0) {
        socket.destroySoon();
        result.closedIdle += 1;
      } else this.#idleAfterStop.add(socket);
    }
    const graceTimer = setTimeout(() => {
      for (const socket of this.#idleAfterStop) {
        const state = this.#connections.get(socket);
        // Nothing received at all: no request is coming. (Bytes without a request yet are headers arriving:
        // Node's headersTimeout and our timeout bound those.)
        if (state && state.active === 0 && state.served === 0 && socket.bytesRead === 0) {
          socket.destroy();
          result.closedIdle += 1;
        }
      }
      this.#idleAfterStop.clear();
    }, graceMs);
    let deadline: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve) => {
        if (this.#connections.size === 0) return resolve();
        this.#emptied = resolve;
        deadline = setTimeout(resolve, options.timeoutMs);
      });
    } finally {
      this.#emptied = undefined;
      clearTimeout(graceTimer);
      clearTimeout(deadline);
    }
    for (const socket of this.#connections.keys()) {
      socket.destroy();
      result.forced += 1;
    }
    return result;
  }

  /**
   * Closes the listening socket only (`net.Server#close`): `http.Server#close` would also close every connection it
   * considers idle, including accepted ones whose request has not been read yet.
   */
  #stopListening(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#server.listening) NetServer.prototype.close.call(this.#server);
  }
}

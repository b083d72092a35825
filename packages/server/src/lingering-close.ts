/**
 * A connection refused before its request body was read (413, 503 `OVERLOADED`) is closed without resetting it on
 * a client that is still sending: the reply and our FIN go out, what the client still sends is read and dropped for
 * a short while, and only then is the socket destroyed. Destroying it at once with unread bytes in the kernel makes
 * the kernel answer them with a reset, and a client still writing its body then sees EPIPE/ECONNRESET and never
 * reads the status that says why (RFC 9112 §9.6 asks servers to close in stages for this reason).
 * @module
 */
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** Longest a refused connection keeps reading and dropping what its client still sends after the reply. */
export const LINGER_MS = 2000;

/**
 * Makes the close that Node performs after `res` (a reply with `Connection: close`) a lingering one: end our side,
 * keep reading and dropping the client's bytes until it closes its side or `ms` pass, then destroy the socket.
 *
 * @example
 * ```ts
 * reply.header('connection', 'close');
 * lingerAfterReply(reply.raw);
 * ```
 */
export function lingerAfterReply(res: ServerResponse, ms = LINGER_MS): void {
  const socket = res.socket as Socket | null;
  if (!socket || socket.destroyed) return;
  // Node's HTTP server calls destroySoon() once a `Connection: close` reply is written.
  socket.destroySoon = function lingeringClose(this: Socket): void {
    if (this.writable) this.end();
    if (this.readableEnded) {
      this.destroy();
      return;
    }
    const timer = setTimeout(() => this.destroy(), ms);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.resume();
  };
}

/**
 * Downloads an `image_url` safely: http/https only; the host is resolved by us, every resolved address is
 * checked against {@link AddressPolicy}, and the socket connects to the checked IP itself (so a DNS answer that
 * changes between check and connect — DNS rebinding — cannot redirect us); connect and total timeouts, name
 * resolution included; a byte cap enforced while streaming; at most N redirects, each target checked again; the
 * content type must be an image. Failures are answered in short messages naming the host and port; the
 * underlying error (socket, OpenSSL, resolver) stays on the `cause` for the server log.
 * @module
 */

import { Resolver as DnsResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ImageTooLargeError } from '@mtailor/core';
import { Agent, buildConnector } from 'undici';
import { type CodedError, isCodedError, ServerError, type ServerErrorCode } from '../errors.js';
import type { AddressPolicy } from './address-policy.js';

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Options of one {@link Resolver} call. */
export interface ResolveOptions {
  /** Aborted when the answer is no longer wanted (timed out, client gone): a resolver should stop asking. */
  signal?: AbortSignal;
}

/**
 * Resolves a host name to every address it has (default: {@link createSystemResolver}, c-ares). {@link fetchImage}
 * bounds it by its timeouts whether or not it honours `signal`.
 */
export type Resolver = (hostname: string, options?: ResolveOptions) => Promise<ResolvedAddress[]>;

/** Where a socket is about to connect. */
export interface ConnectTarget {
  /** The IP address connected to (already checked). */
  ip: string;
  port: number;
  /** The host name of the URL (the TLS server name and the `Host` header). */
  hostname: string;
  protocol: 'http:' | 'https:';
}

/**
 * Called just before every outgoing connection, after the address was checked. Throwing refuses the connection.
 * Tests inject one that records every target and fails any that is not loopback, so a test proving an address
 * is refused cannot reach it even if the policy were wrong.
 */
export type ConnectHook = (target: ConnectTarget) => void;

/** Options of {@link fetchImage}. */
export interface FetchImageOptions {
  policy: AddressPolicy;
  /** Largest body in bytes; larger answers are cut off with 413 `IMAGE_TOO_LARGE`. */
  maxBytes: number;
  connectTimeoutMs: number;
  /** Whole request (all redirects, headers and body). */
  totalTimeoutMs: number;
  maxRedirects: number;
  resolve?: Resolver;
  onConnect?: ConnectHook;
  /** Aborts the download (e.g. the client went away). */
  signal?: AbortSignal;
}

/** A downloaded image. */
export interface FetchedImage {
  bytes: Uint8Array;
  contentType: string;
  /** The URL the bytes came from, after redirects. */
  finalUrl: string;
  redirects: number;
}

/**
 * The server's default `image_url` limits (its `MTAILOR_MAX_IMAGE_BYTES`, `MTAILOR_URL_CONNECT_TIMEOUT_MS`,
 * `MTAILOR_URL_TIMEOUT_MS` and `MTAILOR_URL_MAX_REDIRECTS` defaults), also what `mtailor classify --inputs-from`
 * downloads URLs with.
 */
export const URL_FETCH_LIMITS = {
  maxBytes: 10 * 1024 * 1024,
  connectTimeoutMs: 3000,
  totalTimeoutMs: 10_000,
  maxRedirects: 3,
} as const satisfies Omit<FetchImageOptions, 'policy'>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Options of {@link createSystemResolver}. */
export interface SystemResolverOptions {
  /** How long one resolution may take in all, every retry included (ms). */
  timeoutMs: number;
  /** Queries per DNS server (default 2, so one lost UDP packet is not a failure). */
  tries?: number;
  /** DNS servers (`ip` or `ip:port`); default: the system's, from `/etc/resolv.conf`. */
  servers?: readonly string[];
}

// RFC 6761: localhost names are the local host's and must not be sent to DNS. getaddrinfo answered them from
// /etc/hosts; c-ares' query path does not read that file, so they are answered here, the same way as before.
const LOCALHOST: readonly ResolvedAddress[] = [
  { address: '127.0.0.1', family: 4 },
  { address: '::1', family: 6 },
];

// "The name has no such record" answers, as opposed to a failure to get an answer at all.
const NO_SUCH_NAME = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'EAI_NONAME', 'NXDOMAIN']);

/**
 * A resolver on `node:dns`' `Resolver` (c-ares): asynchronous on the event loop, A and AAAA asked in parallel,
 * cancellable through `signal`. Not `dns.lookup`: getaddrinfo blocks a libuv thread-pool thread per lookup, libuv
 * gives such slow work at most half the pool (2 threads by default), a stuck one cannot be cancelled, and the
 * same pool decodes every image — so a few URLs on a slow DNS name would queue everyone else. IP literals need no lookup; `localhost`
 * and `*.localhost` answer loopback (refused by the policy unless allow-listed). `/etc/hosts` is not read.
 *
 * @example
 * ```ts
 * const resolve = createSystemResolver({ timeoutMs: 3000 });
 * await resolve('example.com'); // [{ address: '93.184.215.14', family: 4 }, { address: '2606:…', family: 6 }]
 * ```
 */
export function createSystemResolver(options: SystemResolverOptions): Resolver {
  const tries = Math.max(1, Math.floor(options.tries ?? 2));
  // c-ares' own timing is rough and varies by version (it backs off on retries and adapts to measured server
  // latency; 1.34 took ≈4× `timeout` for 2 tries against a silent server), so this aims near `timeoutMs`;
  // fetchImage does not depend on it — its own timer bounds every resolution.
  const timeout = Math.max(1, Math.floor(options.timeoutMs / (2 * tries)));
  const servers = options.servers ? [...options.servers] : undefined;
  return async (hostname, { signal } = {}) => {
    const family = isIP(hostname);
    if (family) return [{ address: hostname, family: family as 4 | 6 }];
    const name = hostname.toLowerCase().replace(/\.$/, '');
    if (name === 'localhost' || name.endsWith('.localhost')) return LOCALHOST.map((a) => ({ ...a }));
    signal?.throwIfAborted();
    // A channel per resolution, so cancelling it cancels this resolution's queries only.
    const dns = new DnsResolver({ timeout, tries });
    if (servers) dns.setServers(servers);
    const cancel = () => dns.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const [v4, v6] = await Promise.allSettled([dns.resolve4(name), dns.resolve6(name)]);
      const addresses: ResolvedAddress[] = [
        ...(v4.status === 'fulfilled' ? v4.value.map((address) => ({ address, family: 4 as const })) : []),
        ...(v6.status === 'fulfilled' ? v6.value.map((address) => ({ address, family: 6 as const })) : []),
      ];
      if (addresses.length > 0) return addresses;
      // Neither family answered: report the telling failure (a timeout, SERVFAIL) over "no such record".
      const failures = [v4, v6].flatMap((r) =>
        r.status === 'rejected' ? [r.reason as { code?: string }] : [],
      );
      const telling = failures.find((e) => !NO_SUCH_NAME.has(String(e?.code)));
      if (telling) throw telling;
      throw Object.assign(new Error(`${hostname} has no A or AAAA record`), { code: 'ENOTFOUND' });
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  };
}

/**
 * The default resolver with a 3 s budget, for callers outside {@link fetchImage} (which builds one bounded by its
 * own `connectTimeoutMs`).
 */
export const systemResolver: Resolver = createSystemResolver({ timeoutMs: 3000 });

function stripBrackets(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.search = copy.search ? '?…' : '';
  return copy.href;
}

function parseHttpUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ServerError(
      'INVALID_URL',
      `image_url is not a valid absolute URL: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ServerError(
      'URL_SCHEME_NOT_ALLOWED',
      `image_url must be http or https, not ${url.protocol.replace(/:$/, '')}`,
    );
  }
  return url;
}

/**
 * Where a redirect points. A bad or non-http target is the origin's doing, not the client's, so it is a 502
 * (`URL_FETCH_FAILED`) naming what the origin sent, not the client-side 400s of {@link parseHttpUrl}.
 */
function redirectTarget(location: string, from: URL, statusCode: number): URL {
  let url: URL;
  try {
    url = new URL(location, from);
  } catch {
    throw new ServerError(
      'URL_FETCH_FAILED',
      `${redact(from)} answered ${statusCode} with an invalid Location`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ServerError(
      'URL_FETCH_FAILED',
      `${redact(from)} redirected to a ${url.protocol} URL; only http: and https: redirects are followed`,
    );
  }
  return url;
}

/** `host:port` of a URL, the port always shown (messages name where we tried to connect). */
function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/**
 * Resolves `hostname` within `ms`, or rejects with 504 `URL_TIMEOUT` naming the limit; the resolver is told to
 * stop (through its signal) then, or when `outer` aborts. The timer does not rely on the resolver honouring it.
 */
function resolveWithin(
  resolve: Resolver,
  hostname: string,
  ms: number,
  limit: string,
  outer: AbortSignal,
): Promise<ResolvedAddress[]> {
  const stop = new AbortController();
  const onOuter = () => stop.abort(outer.reason);
  outer.addEventListener('abort', onOuter, { once: true });
  return new Promise<ResolvedAddress[]>((done, fail) => {
    const timer = setTimeout(() => {
      fail(resolutionTimeout(hostname, limit));
      stop.abort();
    }, ms);
    resolve(hostname, { signal: stop.signal })
      .then(done, fail)
      .finally(() => {
        clearTimeout(timer);
        outer.removeEventListener('abort', onOuter);
      });
  });
}

function resolutionTimeout(hostname: string, limit: string, cause?: unknown): ServerError {
  return new ServerError('URL_TIMEOUT', `name resolution of ${hostname} timed out (${limit})`, { cause });
}

/** A failed resolution as the reply: no such name (502), no answer in time (504), anything else (502). */
function resolutionError(hostname: string, err: unknown, limit: string): CodedError {
  if (isCodedError(err)) return err;
  const code = String((err as { code?: string })?.code);
  if (NO_SUCH_NAME.has(code)) {
    return new ServerError('URL_FETCH_FAILED', `could not resolve ${hostname}: no such host`, {
      cause: err,
    });
  }
  if (code === 'ETIMEOUT' || code === 'EAI_AGAIN') return resolutionTimeout(hostname, limit, err);
  return new ServerError('URL_FETCH_FAILED', `could not resolve ${hostname}`, { cause: err });
}

/**
 * Downloads an image from a URL under the checks described above.
 *
 * @throws {@link ServerError} `INVALID_URL`/`URL_SCHEME_NOT_ALLOWED`/`URL_FORBIDDEN_ADDRESS` (400),
 *   `IMAGE_TOO_LARGE` (413), `URL_CONTENT_TYPE` (415), `URL_FETCH_FAILED`/`URL_TOO_MANY_REDIRECTS` (502),
 *   `URL_TIMEOUT` (504, also when name resolution outlasts `connectTimeoutMs` or what is left of `totalTimeoutMs`).
 * @example
 * ```ts
 * const { bytes } = await fetchImage('https://example.com/cat.jpg', {
 *   policy: new AddressPolicy(), maxBytes: 10e6, connectTimeoutMs: 3000, totalTimeoutMs: 10000, maxRedirects: 3,
 * });
 * ```
 */
export async function fetchImage(urlText: string, options: FetchImageOptions): Promise<FetchedImage> {
  const resolve = options.resolve ?? createSystemResolver({ timeoutMs: options.connectTimeoutMs });
  let url = parseHttpUrl(urlText);
  const deadline = Date.now() + options.totalTimeoutMs;
  const timeout = AbortSignal.timeout(options.totalTimeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  // The refusal of the connector, kept here: undici may wrap errors thrown inside a connector.
  let refusal: CodedError | undefined;
  // The host being resolved, if any: a total timeout then is the resolution's, and its message says so.
  let resolving: string | undefined;
  const baseConnect = buildConnector({ timeout: options.connectTimeoutMs });
  const agent = new Agent({
    connections: 1,
    pipelining: 0,
    connect: (connectOptions, callback) => {
      const hostname = stripBrackets(connectOptions.hostname);
      const protocol = connectOptions.protocol === 'https:' ? 'https:' : 'http:';
      const port = Number(connectOptions.port) || (protocol === 'https:' ? 443 : 80);
      const connect = async () => {
        // undici's connect timeout starts only once we hand over the socket, so resolution has its own bound:
        // the connect timeout or what is left of the total one, whichever ends first.
        const left = Math.max(0, deadline - Date.now());
        const [ms, limit] =
          options.connectTimeoutMs <= left
            ? [options.connectTimeoutMs, `connect timeout ${options.connectTimeoutMs} ms`]
            : [left, `total timeout ${options.totalTimeoutMs} ms`];
        let addresses: ResolvedAddress[];
        resolving = hostname;
        try {
          addresses = await resolveWithin(resolve, hostname, ms, limit, signal);
        } catch (err) {
          throw resolutionError(hostname, err, limit);
        } finally {
          resolving = undefined;
        }
        if (addresses.length === 0) throw new ServerError('URL_FETCH_FAILED', `${hostname} has no addresses`);
        // Every address is checked, not only the one we use: a name that resolves to one public and one private
        // address is refused, since another resolver (or a retry) might pick the private one.
        for (const { address } of addresses) {
          const verdict = options.policy.check(address, hostname);
          if (!verdict.allowed) {
            const shown = hostname === address ? address : `${hostname} (${address})`;
            throw new ServerError(
              'URL_FORBIDDEN_ADDRESS',
              `image_url host ${shown} is not allowed: ${verdict.reason}`,
            );
          }
        }
        const ip = (addresses[0] as ResolvedAddress).address;
        options.onConnect?.({ ip, port, hostname, protocol });
        baseConnect(
          {
            ...connectOptions,
            hostname: ip,
            host: ip,
            servername: isIP(hostname) ? undefined : hostname,
          } as typeof connectOptions,
          callback,
        );
      };
      connect().catch((err: unknown) => {
        if (isCodedError(err)) refusal = err;
        callback(err instanceof Error ? err : new Error(String(err)), null);
      });
    },
  });

  const failed = (err: unknown) => mapFetchError(err, { refusal, resolving, timeout, url, options });
  let redirects = 0;
  try {
    for (;;) {
      let response: Awaited<ReturnType<Agent['request']>>;
      try {
        response = await agent.request({
          origin: url.origin,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          headers: { accept: 'image/*', 'user-agent': 'mtailor-server' },
          signal,
          headersTimeout: options.totalTimeoutMs,
          bodyTimeout: options.totalTimeoutMs,
        });
      } catch (err) {
        throw failed(err);
      }
      const { statusCode, headers, body } = response;
      if (REDIRECT_STATUSES.has(statusCode)) {
        await body.dump().catch(() => {});
        const location = headers.location;
        if (typeof location !== 'string') {
          throw new ServerError(
            'URL_FETCH_FAILED',
            `${redact(url)} answered ${statusCode} without a Location`,
          );
        }
        redirects += 1;
        if (redirects > options.maxRedirects) {
          throw new ServerError(
            'URL_TOO_MANY_REDIRECTS',
            `image_url redirected more than ${options.maxRedirects} times`,
          );
        }
        url = redirectTarget(location, url, statusCode);
        continue;
      }
      if (statusCode < 200 || statusCode >= 300) {
        await body.dump().catch(() => {});
        throw new ServerError('URL_FETCH_FAILED', `${redact(url)} answered HTTP ${statusCode}`);
      }
      // No content is the origin failing to give an image, whatever its content type says.
      if (statusCode === 204 || statusCode === 205) {
        await body.dump().catch(() => {});
        throw new ServerError(
          'URL_FETCH_FAILED',
          `${redact(url)} answered HTTP ${statusCode} with no content`,
        );
      }
      const contentType = String(headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (!contentType || !(contentType.startsWith('image/') || contentType === 'application/octet-stream')) {
        await body.dump().catch(() => {});
        throw new ServerError(
          'URL_CONTENT_TYPE',
          `${redact(url)} answered content-type ${JSON.stringify(contentType ?? '')}; expected image/* or application/octet-stream`,
        );
      }
      const declared = Number(headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        body.destroy();
        throw tooLarge(options.maxBytes);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      try {
        for await (const chunk of body) {
          total += (chunk as Buffer).length;
          if (total > options.maxBytes) {
            body.destroy();
            throw tooLarge(options.maxBytes);
          }
          chunks.push(chunk as Buffer);
        }
      } catch (err) {
        if (isCodedError(err)) throw err;
        throw failed(err);
      }
      if (total === 0) throw new ServerError('URL_FETCH_FAILED', `${redact(url)} answered an empty body`);
      return { bytes: Buffer.concat(chunks, total), contentType, finalUrl: url.href, redirects };
    }
  } finally {
    agent.destroy().catch(() => {});
  }
}

function tooLarge(maxBytes: number): ImageTooLargeError {
  return new ImageTooLargeError(`image_url body exceeds the limit of ${maxBytes} bytes`);
}

// Certificate verification failures (Node's codes for OpenSSL's X509 errors, and the host name check).
const CERT_CODE =
  /^(CERT_|UNABLE_TO_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|ERR_TLS_CERT_ALTNAME_INVALID$)/;

/** Why a fetch failed, as the reply: short, naming `host:port`; the original error only as `cause`. */
function mapFetchError(
  err: unknown,
  state: {
    refusal: CodedError | undefined;
    resolving: string | undefined;
    timeout: AbortSignal;
    url: URL;
    options: FetchImageOptions;
  },
): CodedError {
  const { refusal, resolving, timeout, url, options } = state;
  if (refusal) return refusal;
  if (isCodedError(err)) return err;
  if (timeout.aborted) {
    if (resolving !== undefined)
      return resolutionTimeout(resolving, `total timeout ${options.totalTimeoutMs} ms`);
    return new ServerError('URL_TIMEOUT', `image_url did not answer within ${options.totalTimeoutMs} ms`);
  }
  const where = hostPort(url);
  const fail = (code: ServerErrorCode, message: string) => new ServerError(code, message, { cause: err });
  const outer = (err as { code?: string })?.code;
  // undici reports a socket that failed under it as its own error, with the socket's error as the cause.
  const inner = (err as { cause?: { code?: string } })?.cause?.code;
  const code = outer === 'UND_ERR_SOCKET' && inner ? inner : outer;
  const text = err instanceof Error ? err.message : '';
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return fail('URL_TIMEOUT', `could not connect to ${where} within ${options.connectTimeoutMs} ms`);
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return fail('URL_TIMEOUT', `image_url did not answer within ${options.totalTimeoutMs} ms`);
    case 'ETIMEDOUT':
      return fail('URL_TIMEOUT', `connection to ${where} timed out`);
    case 'ECONNREFUSED':
      return fail('URL_FETCH_FAILED', `connection to ${where} refused`);
    case 'ENETUNREACH':
      return fail('URL_FETCH_FAILED', `network unreachable for ${where}`);
    case 'EHOSTUNREACH':
      return fail('URL_FETCH_FAILED', `host unreachable: ${where}`);
    case 'ECONNRESET':
    case 'EPIPE':
      return fail('URL_FETCH_FAILED', `connection to ${where} was reset`);
    case 'UND_ERR_SOCKET':
      return fail('URL_FETCH_FAILED', `${where} closed the connection`);
  }
  if (code && CERT_CODE.test(code)) {
    return fail('URL_FETCH_FAILED', `TLS handshake with ${where} failed: certificate not accepted (${code})`);
  }
  if (
    code?.startsWith('ERR_SSL_') ||
    code?.startsWith('ERR_TLS_') ||
    code === 'EPROTO' ||
    /SSL routines|TLS/.test(text)
  ) {
    return fail('URL_FETCH_FAILED', `TLS handshake with ${where} failed`);
  }
  // Anything else: the code if it is a bare symbol (EADDRNOTAVAIL), never the free text.
  const shown = code && /^[A-Z][A-Z0-9_]+$/.test(code) ? ` (${code})` : '';
  return fail('URL_FETCH_FAILED', `could not fetch ${redact(url)}${shown}`);
}

/**
 * Downloads an `image_url` safely: http/https only; the host is resolved by us, every resolved address is
 * checked against {@link AddressPolicy}, and the socket connects to the checked IP itself (so a DNS answer that
 * changes between check and connect — DNS rebinding — cannot redirect us); connect and total timeouts; a byte cap
 * enforced while streaming; at most N redirects, each target checked again; the content type must be an image.
 * @module
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { HttpError } from '../http-errors.js';
import type { AddressPolicy } from './address-policy.js';

/** One resolved address of a host name. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: the system resolver, `dns.lookup(all)`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

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

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** The system resolver: every address of `hostname`, in the resolver's order; IP literals as themselves. */
export const systemResolver: Resolver = async (hostname) => {
  const family = isIP(hostname);
  if (family) return [{ address: hostname, family: family as 4 | 6 }];
  const all = await lookup(hostname, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family as 4 | 6 }));
};

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

function parseHttpUrl(text: string, base?: URL): URL {
  let url: URL;
  try {
    url = base ? new URL(text, base) : new URL(text);
  } catch {
    throw new HttpError(
      400,
      'INVALID_URL',
      `image_url is not a valid absolute URL: ${JSON.stringify(text.slice(0, 200))}`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new HttpError(
      400,
      'URL_SCHEME_NOT_ALLOWED',
      `image_url must be http or https, not ${url.protocol.replace(/:$/, '')}`,
    );
  }
  return url;
}

/**
 * Downloads an image from a URL under the checks described above.
 *
 * @throws {@link HttpError} `INVALID_URL`/`URL_SCHEME_NOT_ALLOWED`/`URL_FORBIDDEN_ADDRESS` (400),
 *   `IMAGE_TOO_LARGE` (413), `URL_CONTENT_TYPE` (415), `URL_FETCH_FAILED`/`URL_TOO_MANY_REDIRECTS` (502),
 *   `URL_TIMEOUT` (504).
 * @example
 * ```ts
 * const { bytes } = await fetchImage('https://example.com/cat.jpg', {
 *   policy: new AddressPolicy(), maxBytes: 10e6, connectTimeoutMs: 3000, totalTimeoutMs: 10000, maxRedirects: 3,
 * });
 * ```
 */
export async function fetchImage(urlText: string, options: FetchImageOptions): Promise<FetchedImage> {
  const resolve = options.resolve ?? systemResolver;
  let url = parseHttpUrl(urlText);
  // The refusal of the connector, kept here: undici may wrap errors thrown inside a connector.
  let refusal: HttpError | undefined;
  const baseConnect = buildConnector({ timeout: options.connectTimeoutMs });
  const agent = new Agent({
    connections: 1,
    pipelining: 0,
    connect: (connectOptions, callback) => {
      const hostname = stripBrackets(connectOptions.hostname);
      const protocol = connectOptions.protocol === 'https:' ? 'https:' : 'http:';
      const port = Number(connectOptions.port) || (protocol === 'https:' ? 443 : 80);
      resolve(hostname)
        .then((addresses) => {
          if (addresses.length === 0)
            throw new HttpError(502, 'URL_FETCH_FAILED', `${hostname} has no addresses`);
          // Every address is checked, not only the one we use: a name that resolves to one public and one private
          // address is refused, since another resolver (or a retry) might pick the private one.
          for (const { address } of addresses) {
            const verdict = options.policy.check(address, hostname);
            if (!verdict.allowed) {
              const shown = hostname === address ? address : `${hostname} (${address})`;
              throw new HttpError(
                400,
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
        })
        .catch((err: unknown) => {
          if (err instanceof HttpError) refusal = err;
          callback(err instanceof Error ? err : new Error(String(err)), null);
        });
    },
  });

  const timeout = AbortSignal.timeout(options.totalTimeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
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
        throw mapFetchError(err, refusal, timeout, url, options);
      }
      const { statusCode, headers, body } = response;
      if (REDIRECT_STATUSES.has(statusCode)) {
        await body.dump().catch(() => {});
        const location = headers.location;
        if (typeof location !== 'string') {
          throw new HttpError(
            502,
            'URL_FETCH_FAILED',
            `${redact(url)} answered ${statusCode} without a Location`,
          );
        }
        redirects += 1;
        if (redirects > options.maxRedirects) {
          throw new HttpError(
            502,
            'URL_TOO_MANY_REDIRECTS',
            `image_url redirected more than ${options.maxRedirects} times`,
          );
        }
        url = parseHttpUrl(location, url);
        continue;
      }
      if (statusCode < 200 || statusCode >= 300) {
        await body.dump().catch(() => {});
        throw new HttpError(502, 'URL_FETCH_FAILED', `${redact(url)} answered HTTP ${statusCode}`);
      }
      const contentType = String(headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim()
        .toLowerCase();
      if (!contentType || !(contentType.startsWith('image/') || contentType === 'application/octet-stream')) {
        await body.dump().catch(() => {});
        throw new HttpError(
          415,
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
        if (err instanceof HttpError) throw err;
        throw mapFetchError(err, refusal, timeout, url, options);
      }
      return { bytes: Buffer.concat(chunks, total), contentType, finalUrl: url.href, redirects };
    }
  } finally {
    agent.destroy().catch(() => {});
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'IMAGE_TOO_LARGE', `image_url body exceeds the limit of ${maxBytes} bytes`);
}

function mapFetchError(
  err: unknown,
  refusal: HttpError | undefined,
  timeout: AbortSignal,
  url: URL,
  options: FetchImageOptions,
): HttpError {
  if (refusal) return refusal;
  if (err instanceof HttpError) return err;
  const code = (err as { code?: string })?.code;
  if (timeout.aborted) {
    return new HttpError(504, 'URL_TIMEOUT', `image_url did not answer within ${options.totalTimeoutMs} ms`);
  }
  if (code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new HttpError(
      504,
      'URL_TIMEOUT',
      `could not connect to ${url.host} within ${options.connectTimeoutMs} ms`,
    );
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return new HttpError(504, 'URL_TIMEOUT', `image_url did not answer within ${options.totalTimeoutMs} ms`);
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new HttpError(502, 'URL_FETCH_FAILED', `could not resolve ${url.hostname}`);
  }
  const reason = err instanceof Error ? err.message : String(err);
  return new HttpError(502, 'URL_FETCH_FAILED', `could not fetch ${redact(url)}: ${reason}`, { cause: err });
}

/**
 * Bearer-token authentication (`Authorization: Bearer <token>`), compared in constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { ServerError } from './errors.js';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/**
 * Returns a checker for one token. Hashing both sides first makes the comparison constant-time whatever the
 * lengths, so response timing tells an attacker nothing about the token.
 *
 * @example
 * ```ts
 * const check = bearerChecker(process.env.MTAILOR_API_KEY!);
 * check(request.headers.authorization); // throws ServerError 401 when missing or wrong
 * ```
 */
export function bearerChecker(token: string): (authorization: string | undefined) => void {
  const expected = digest(token);
  return (authorization) => {
    if (!authorization) {
      throw new ServerError('UNAUTHORIZED', 'missing Authorization header (expected "Bearer <token>")');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match?.[1]) throw new ServerError('UNAUTHORIZED', 'Authorization header must be "Bearer <token>"');
    if (!timingSafeEqual(digest(match[1]), expected)) throw new ServerError('UNAUTHORIZED', 'invalid token');
  };
}

/**
 * Like {@link bearerChecker}, but answers whether the header carries the token instead of throwing: for routes that
 * answer everyone and tell more to those with the token (`/health`, `/ready`).
 *
 * @example
 * ```ts
 * const hasToken = bearerMatcher(process.env.MTAILOR_API_KEY!);
 * hasToken(request.headers.authorization); // true or false
 * ```
 */
export function bearerMatcher(token: string): (authorization: string | undefined) => boolean {
  const check = bearerChecker(token);
  return (authorization) => {
    try {
      check(authorization);
      return true;
    } catch {
      return false;
    }
  };
}

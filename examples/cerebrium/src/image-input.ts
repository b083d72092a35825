/**
 * Encoded image bytes from what a client sends: base64 (plain or a `data:` URL). Strict: characters outside the
 * base64 alphabet are an error, not silently skipped (Node's decoder would drop them and decode something else).
 * @module
 */
import { HttpError } from './http-errors.js';

const DATA_URL = /^data:([^;,]*)(?:;[^,]*)?,/i;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/**
 * Decodes `image_base64`: standard or URL-safe base64, whitespace/newlines allowed (as `base64` tools wrap lines),
 * optionally as `data:image/...;base64,...`.
 *
 * @throws {@link HttpError} 400 `INVALID_INPUT` for invalid base64, 413 `IMAGE_TOO_LARGE` above `maxBytes`.
 */
export function decodeBase64Image(text: string, maxBytes: number, field = 'image_base64'): Uint8Array {
  let payload = text;
  const dataUrl = DATA_URL.exec(payload);
  if (dataUrl) {
    if (!/;base64,/i.test(payload.slice(0, dataUrl[0].length))) {
      throw new HttpError(
        400,
        'INVALID_INPUT',
        `${field}: a data URL must be base64-encoded (data:<type>;base64,...)`,
      );
    }
    payload = payload.slice(dataUrl[0].length);
  }
  payload = payload.replace(/\s+/g, '');
  if (payload.length === 0) throw new HttpError(400, 'INVALID_INPUT', `${field} is empty`);
  const urlSafe = !BASE64.test(payload) && BASE64URL.test(payload);
  if (!(BASE64.test(payload) || urlSafe) || payload.length % 4 === 1) {
    throw new HttpError(400, 'INVALID_INPUT', `${field} is not valid base64`);
  }
  const approx = Math.floor((payload.length * 3) / 4);
  if (approx - 2 > maxBytes) {
    throw new HttpError(
      413,
      'IMAGE_TOO_LARGE',
      `${field} decodes to about ${approx} bytes; the limit is ${maxBytes}`,
    );
  }
  const bytes = Buffer.from(payload, urlSafe ? 'base64url' : 'base64');
  if (bytes.length > maxBytes) {
    throw new HttpError(
      413,
      'IMAGE_TOO_LARGE',
      `${field} decodes to ${bytes.length} bytes; the limit is ${maxBytes}`,
    );
  }
  return bytes;
}

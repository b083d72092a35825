/**
 * `GET /`: the server's own page — a form that sends an image (file, URL or the test image) to `/predict` with an
 * optional bearer token and shows the top-k bars, `run_id` and `timings_ms`. Static files shipped with the package
 * (`page/`), served only when the config asks for it (`MTAILOR_PAGE`). The page itself holds no data, so it is public;
 * its calls to `/predict` carry the token typed into it.
 * @module
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';

const pageDir = new URL('../../page/', import.meta.url);

/** The page's files, read once at registration: name → [content type, bytes]. */
const FILES = {
  'index.html': 'text/html; charset=utf-8',
  'page.js': 'text/javascript; charset=utf-8',
  'page.css': 'text/css; charset=utf-8',
} as const;

/**
 * Only this server's own files and API: no inline script, no other origin. `blob:` for the preview of the file the
 * user picked.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; " +
  "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

/** Registers `GET /` and its two assets when `ctx.config.page` is on. */
export function registerPageRoutes(app: FastifyInstance, ctx: RouteContext): void {
  if (!ctx.config.page) return;
  const files = new Map(
    Object.entries(FILES).map(([name, type]) => [name, { type, body: readFileSync(new URL(name, pageDir)) }]),
  );
  const send = (name: keyof typeof FILES) => {
    const file = files.get(name) as { type: string; body: Buffer };
    return { type: file.type, body: file.body };
  };
  const headers = {
    'content-security-policy': CSP,
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  };
  const config = { public: true };

  app.get('/', { config }, async (request, reply) => {
    // Relative links (page/page.js, predict) need the trailing slash when the plugin is mounted under a prefix.
    const path = request.url.split('?')[0] as string;
    if (!path.endsWith('/')) return reply.redirect(`${path}/`, 308);
    const { type, body } = send('index.html');
    return reply.headers(headers).type(type).send(body);
  });
  for (const name of ['page.js', 'page.css'] as const) {
    app.get(`/page/${name}`, { config }, async (_request, reply) => {
      const { type, body } = send(name);
      return reply.headers(headers).type(type).send(body);
    });
  }
}

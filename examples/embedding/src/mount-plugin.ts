/**
 * Mounting the inference plugin inside an existing Fastify app: the app keeps its own routes, error format and
 * parsers; the plugin's routes live under a prefix (`/ml` here) with their own auth, parsers and JSON errors.
 * @module
 */
import { mtailorPlugin, type ServerConfig } from '@mtailor/server';
import Fastify, { type FastifyInstance } from 'fastify';

/**
 * An "existing" app (a tiny shop API) with the classifier mounted at `/ml`.
 *
 * @example
 * ```ts
 * import { loadConfig } from '@mtailor/server';
 * import { buildShopApp } from '@mtailor/example-embedding';
 * const app = await buildShopApp(loadConfig());
 * await app.listen({ port: 3000 });
 * // GET /api/products (the app's own), POST /ml/predict, GET /ml/health, GET /ml/v2/models/<name> …
 * ```
 */
export async function buildShopApp(
  config: ServerConfig,
  options: { logger?: boolean } = {},
): Promise<FastifyInstance> {
  const app = Fastify({ logger: options.logger ?? false });

  // The app's own routes, untouched by the plugin.
  const products = [
    { id: 1, name: 'fishing rod', tags: ['tench'] },
    { id: 2, name: 'turtle food', tags: ['mud turtle'] },
  ];
  app.get('/api/products', async () => products);
  app.get('/api/products/:id', async (request, reply) => {
    const id = Number((request.params as { id: string }).id);
    const product = products.find((p) => p.id === id);
    if (!product) return reply.code(404).send({ message: `no product ${id}` });
    return product;
  });

  // The plugin starts its own engine (model loads in the background; its routes answer 503 until ready) and
  // closes it when the app closes.
  await app.register(mtailorPlugin, { prefix: '/ml', config });
  return app;
}

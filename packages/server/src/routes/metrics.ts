/**
 * `GET /metrics`: Prometheus text format.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from '../context.js';

/** Registers `/metrics`. */
export function registerMetricsRoute(app: FastifyInstance, ctx: RouteContext): void {
  app.get('/metrics', { config: { public: ctx.config.publicMetrics } }, async (_request, reply) => {
    reply.type(ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}

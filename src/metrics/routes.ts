import { Hono } from 'hono';
import type { RelayMetrics } from './metrics';

/** `GET /metrics`: Prometheus text, outside /api/v1 and without a token (SPEC); restrict it at the network level. */
export function metricsRoutes(metrics: RelayMetrics): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => c.body(await metrics.render(), 200, { 'content-type': metrics.contentType }));
  return app;
}

import { Hono } from 'hono';
import type { Store } from '../store/types';

/** `/healthz`: the process answers. `/readyz`: storage reachable and migrated. */
export function healthRoutes(store: Store): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = await store.ready().catch(() => false);
    return c.json({ status: ready ? 'ready' : 'unavailable' }, ready ? 200 : 503);
  });
  return app;
}

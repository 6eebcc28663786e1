import { Hono } from 'hono';
import type { Store } from '../store/types';

/** `/healthz`: the process answers. `/readyz`: started (storage found at start) and storage reachable and migrated now. */
export function healthRoutes(store: Store, started: () => boolean): Hono {
  const app = new Hono();
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    const ready = started() && (await store.ready().catch(() => false));
    return c.json({ status: ready ? 'ready' : 'unavailable' }, ready ? 200 : 503);
  });
  return app;
}

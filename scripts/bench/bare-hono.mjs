// Ceiling 1a: a bare Hono POST handler on @hono/node-server (the same stack the relay serves HTTP
// with) that reads the body, JSON.parses it and answers 202 with a small JSON body. Nothing else.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
app.post('/ingest', async (c) => {
  const body = JSON.parse(await c.req.text());
  return c.json({ id: 'evt_01JBENCHBENCHBENCHBENCHBE', deliveries: body.type ? 1 : 0 }, 202);
});

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  process.send({ ready: true, port: info.port });
});
server.keepAliveTimeout = 120_000;
process.on('disconnect', () => process.exit(0));

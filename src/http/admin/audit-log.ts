import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from './deps';
import { withCursor } from './cursor';
import { adminRouter } from './router';
import { iso, pageOf, pageQuery, problemResponses } from './schemas';

const AuditEntrySchema = z
  .object({
    id: z.string().openapi({ example: 'aud_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }),
    at: z.string(),
    actor: z.string().openapi({ description: "the admin token's name" }),
    action: z.string().openapi({ example: 'delivery.retry' }),
    target: z.string().nullable().openapi({ description: 'the id acted on, if any' }),
    details: z.record(z.string(), z.unknown()).openapi({ description: 'action-specific facts; never secrets' }),
  })
  .openapi('AuditEntry');

const listAudit = createRoute({
  method: 'get',
  path: '/audit',
  operationId: 'listAudit',
  tags: ['operations'],
  summary: 'The audit log, newest first',
  description:
    'Not in the product contract (an addition): every admin write (POST, PATCH, DELETE) is recorded with the name of the token that made it, ' +
    'the action (`event.replay`, `delivery.retry`, `delivery.cancel`, `config.reload`, `store.backup`, `subscription.*`), the id acted on and details. ' +
    'A rejected config reload is recorded too.',
  request: { query: z.object(pageQuery) },
  responses: {
    200: { description: 'one page of audit entries', content: { 'application/json': { schema: pageOf(AuditEntrySchema) } } },
    ...problemResponses(),
  },
});

/** `GET /audit`: who changed what through the admin API. */
export function auditLogRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.openapi(listAudit, async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const page = await withCursor(() => deps.store.listAudit({ limit, cursor: cursor || undefined }));
    const data = page.data.map((e) => ({
      id: e.id,
      at: iso(e.at)!,
      actor: e.actor,
      action: e.action,
      target: e.target,
      details: e.details,
    }));
    return c.json({ data, next_cursor: page.nextCursor }, 200);
  });
  return app;
}

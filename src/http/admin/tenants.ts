import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { parseRate, RATE_HINT } from '../../lib/durations';
import { getErasure, getTenant, listTenants, putTenant, startErasure } from '../../tenants/service';
import { TENANT_ID_HINT, TENANT_ID_PATTERN } from '../../tenants/tenant-id';
import { AppError } from '../problem';
import { audit } from './audit';
import { withCursor } from './cursor';
import type { AdminDeps } from './deps';
import { adminRouter } from './router';
import { pageOf, pageQuery, problemResponses } from './schemas';

/** Largest `metadata` of a tenant, bytes of its JSON text (SPEC 9): 8kb. */
export const TENANT_METADATA_LIMIT = 8 * 1024;
/** Largest body of PUT /tenants/{tenant}, bytes: the metadata and room for the other fields. */
const TENANT_BODY_LIMIT = 16 * 1024;

const tenantBodyLimit = bodyLimit({
  maxSize: TENANT_BODY_LIMIT,
  onError: () => {
    throw new AppError(413, 'payload_too_large', {
      detail: `a tenant body may be at most 16kb (${TENANT_BODY_LIMIT} bytes)`,
      headers: { connection: 'close' },
    });
  },
});

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const tags = ['tenants'];

const TenantParam = z.object({
  tenant: z
    .string()
    .regex(TENANT_ID_PATTERN, TENANT_ID_HINT)
    .openapi({ param: { name: 'tenant', in: 'path' }, example: 'acct_42', description: "the platform's own id of its customer" }),
});

const TenantInputSchema = z
  .strictObject({
    name: z.string().min(1).max(200).optional(),
    metadata: z
      .record(z.string(), z.unknown())
      .refine((m) => Buffer.byteLength(JSON.stringify(m)) <= TENANT_METADATA_LIMIT, {
        message: `at most 8kb (${TENANT_METADATA_LIMIT} bytes) as JSON`,
      })
      .optional()
      .openapi({ description: 'any JSON object, at most 8kb as JSON' }),
    enabled: z.boolean().default(true).openapi({ description: 'false: the tenant gets no deliveries to its own subscriptions' }),
    limits: z
      .strictObject({
        max_subscriptions: z.number().int().min(0).nullable().optional(),
        ingest_rate: z
          .string()
          .refine(
            (s) => {
              try {
                return parseRate(s) !== null;
              } catch {
                return false;
              }
            },
            { message: RATE_HINT.replace(', or off', '') },
          )
          .nullable()
          .optional()
          .openapi({ example: '100/s' }),
      })
      .optional()
      .openapi({ description: 'max_subscriptions holds for subscriptions a tenant credential creates; ingest_rate is recorded only' }),
  })
  .openapi('TenantInput', { description: 'The whole record: fields left out are cleared to their defaults.' });

const isoString = z.string().openapi({ format: 'date-time', example: '2026-11-23T10:00:00.000Z' });

const TenantSchema = z
  .object({
    id: z.string().openapi({ example: 'acct_42' }),
    name: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    enabled: z.boolean(),
    limits: z.object({ max_subscriptions: z.number().int().nullable(), ingest_rate: z.string().nullable() }),
    state: z.enum(['active', 'erasing']),
    subscriptions: z.number().int().openapi({ description: 'its subscriptions' }),
    backlog: z.number().int().openapi({ description: 'waiting deliveries (pending + retrying) of its events' }),
    failing: z.number().int().openapi({ description: 'its subscriptions whose last attempts failed' }),
    created_at: isoString,
    updated_at: isoString,
  })
  .openapi('Tenant');

const put = createRoute({
  method: 'put',
  path: '/tenants/{tenant}',
  operationId: 'putTenant',
  tags,
  summary: 'Create or replace a tenant record',
  description: 'Fields left out are cleared to their defaults. 409 while the tenant is being erased. Needs `write` or `tenants`.',
  request: { params: TenantParam, body: { required: true, ...json(TenantInputSchema) } },
  responses: {
    200: { description: 'replaced', ...json(TenantSchema) },
    201: { description: 'created', ...json(TenantSchema) },
    ...problemResponses(409, 413),
  },
});

const list = createRoute({
  method: 'get',
  path: '/tenants',
  operationId: 'listTenants',
  tags,
  summary: 'Tenants in id order, with their counts',
  description: 'Needs `write` or `tenants`.',
  request: {
    query: z.object({
      ...pageQuery,
      q: z
        .string()
        .regex(/^[A-Za-z0-9._:-]{0,128}$/, 'expected the start of a tenant id')
        .optional()
        .openapi({ description: 'id prefix', example: 'acct_' }),
    }),
  },
  responses: { 200: { description: 'one page of tenants', ...json(pageOf(TenantSchema)) }, ...problemResponses() },
});

const get = createRoute({
  method: 'get',
  path: '/tenants/{tenant}',
  operationId: 'getTenant',
  tags,
  summary: 'One tenant with its counts',
  description: 'Needs `write` or `tenants`.',
  request: { params: TenantParam },
  responses: { 200: { description: 'the tenant', ...json(TenantSchema) }, ...problemResponses(404) },
});

const ErasureSchema = z
  .object({
    tenant: z.string().openapi({ example: 'acct_42' }),
    state: z.enum(['erasing', 'done']),
    events: z.number().int().openapi({ description: 'events erased so far' }),
    deliveries: z.number().int().openapi({ description: 'deliveries erased so far (to platform subscriptions too)' }),
    attempts: z.number().int().openapi({ description: 'attempt records erased so far' }),
    started_at: isoString,
    finished_at: isoString.nullable(),
  })
  .openapi('TenantErasure');

const erase = createRoute({
  method: 'delete',
  path: '/tenants/{tenant}',
  operationId: 'eraseTenant',
  tags,
  summary: 'Start erasing every row of a tenant',
  description:
    'Record or not: its subscriptions, events, their deliveries (to platform subscriptions too) and attempts, in the background. ' +
    'From now on ingest for the tenant and PUT answer 409 until it is done. Again while erasing: the same erasure goes on. Needs `write` or `tenants`.',
  request: { params: TenantParam },
  responses: {
    202: {
      description: 'erasing',
      ...json(z.object({ tenant: z.string(), state: z.literal('erasing') }).openapi('TenantErasureStarted')),
    },
    ...problemResponses(),
  },
});

const erasure = createRoute({
  method: 'get',
  path: '/tenants/{tenant}/erasure',
  operationId: 'getTenantErasure',
  tags,
  summary: "A tenant's erasure and the rows erased so far",
  description:
    'Survives the erasure: once `done`, only the id, the counts and the times are kept. 404 if the tenant was never erased. Needs `write` or `tenants`.',
  request: { params: TenantParam },
  responses: { 200: { description: 'the erasure', ...json(ErasureSchema) }, ...problemResponses(404) },
});

/** Admin routes: tenant records (SPEC 9). The logic is in src/tenants; these only translate HTTP. */
export function tenantRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/tenants/:tenant', tenantBodyLimit);

  app.openapi(put, async (c) => {
    const { tenant: id } = c.req.valid('param');
    const body = c.req.valid('json');
    const { created, view } = await putTenant(deps, {
      id,
      name: body.name ?? null,
      metadata: body.metadata ?? null,
      enabled: body.enabled,
      maxSubscriptions: body.limits?.max_subscriptions ?? null,
      ingestRate: body.limits?.ingest_rate ?? null,
    });
    await audit(c, deps, 'tenant.put', id, { created, enabled: view.enabled });
    if (created) {
      c.header('location', `/api/v1/tenants/${id}`);
      return c.json(view, 201);
    }
    return c.json(view, 200);
  });

  app.openapi(list, async (c) => {
    const { limit, cursor, q } = c.req.valid('query');
    const page = await withCursor(() => listTenants(deps, { limit, cursor: cursor || undefined, q: q || undefined }));
    return c.json({ data: page.data, next_cursor: page.nextCursor }, 200);
  });

  app.openapi(get, async (c) => c.json(await getTenant(deps, c.req.valid('param').tenant), 200));

  app.openapi(erase, async (c) => {
    const { tenant: id } = c.req.valid('param');
    await startErasure(deps, id);
    // No details: the erasure blanks them for the tenant's entries anyway (action, actor and id stay).
    await audit(c, deps, 'tenant.erase', id);
    return c.json({ tenant: id, state: 'erasing' as const }, 202);
  });

  app.openapi(erasure, async (c) => c.json(await getErasure(deps, c.req.valid('param').tenant), 200));
  return app;
}

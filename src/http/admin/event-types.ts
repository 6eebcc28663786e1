import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { CatalogEntry } from '../../catalog/catalog';
import { eventTypeBodySchema } from '../../catalog/definition';
import { EVENT_TYPE, RESERVED_TYPE_PREFIX } from '../../ingest/event-type';
import { isoOrNull } from '../../lib/time';
import { AppError, invalidRequest } from '../../lib/app-error';
import { audit } from './audit';
import type { AdminEnv } from './auth';
import type { AdminDeps } from './deps';
import { adminRouter } from './router';
import { pageOf, pageQuery, problemResponses } from './schemas';
import { viewerTenant } from './viewer';

// The event type catalog over the admin API (SPEC 11). Reads serve the catalog in force on this
// instance; writes go to the store and are in force here at once, on other instances within a
// second. Config-declared and built-in (`hookrelay.*`) types are read-only here. A tenant
// credential reads the catalog without its `internal` types, and never writes (auth.ts).

/** Largest body of PUT /event-types/{name}, bytes: a 64kb schema, a 64kb example and the rest. */
const EVENT_TYPE_BODY_LIMIT = 160 * 1024;

const eventTypeBodyLimit = bodyLimit({
  maxSize: EVENT_TYPE_BODY_LIMIT,
  onError: () => {
    throw new AppError(413, 'payload_too_large', {
      detail: `an event type body may be at most 160kb (${EVENT_TYPE_BODY_LIMIT} bytes)`,
      headers: { connection: 'close' },
    });
  },
});

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const tags = ['event types'];

const NameParam = z.object({
  name: z
    .string()
    .regex(EVENT_TYPE, 'must be 1-128 characters of A-Z a-z 0-9 . _ : -')
    .openapi({ param: { name: 'name', in: 'path' }, example: 'invoice.paid', description: 'the event type' }),
});

const isoString = z.string().nullable().openapi({ format: 'date-time', description: 'API types only; null for config and built-in ones' });

const EventTypeSchema = z
  .object({
    name: z.string().openapi({ example: 'invoice.paid' }),
    description: z.string().nullable(),
    schema: z.unknown().optional().openapi({ description: 'JSON Schema 2020-12 that `data` must match at ingest; absent: any data' }),
    example: z.unknown().optional().openapi({ description: 'example `data`, sent by test events of this type' }),
    deprecated: z.boolean(),
    internal: z.boolean().openapi({ description: 'hidden from tenant credentials' }),
    source: z.enum(['config', 'api', 'builtin']).openapi({ description: 'config and builtin types are read-only over the API' }),
    created_at: isoString,
    updated_at: isoString,
  })
  .openapi('EventType');

// Made before @hono/zod-openapi extended zod (the config schema uses it too), so it has no .openapi().
const EventTypeInput = eventTypeBodySchema;

const list = createRoute({
  method: 'get',
  path: '/event-types',
  operationId: 'listEventTypes',
  tags,
  summary: 'The event type catalog, by name',
  description: 'Config, API and built-in (`hookrelay.*`) types. A tenant credential does not see `internal` ones.',
  request: { query: z.object(pageQuery) },
  responses: { 200: { description: 'one page of event types', ...json(pageOf(EventTypeSchema)) }, ...problemResponses() },
});

const get = createRoute({
  method: 'get',
  path: '/event-types/{name}',
  operationId: 'getEventType',
  tags,
  summary: 'One event type',
  request: { params: NameParam },
  responses: { 200: { description: 'the event type', ...json(EventTypeSchema) }, ...problemResponses(404) },
});

const put = createRoute({
  method: 'put',
  path: '/event-types/{name}',
  operationId: 'putEventType',
  tags,
  summary: 'Create or replace an event type',
  description:
    'An invalid schema, a remote `$ref`, a pattern the linear-time engine cannot run, or an example that fails the schema is a 400 listing every problem. ' +
    'Config-declared and built-in types answer 409. Needs `write`; tenant credentials get 403.',
  request: { params: NameParam, body: { required: true, ...json(EventTypeInput) } },
  responses: {
    200: { description: 'replaced', ...json(EventTypeSchema) },
    201: { description: 'created', ...json(EventTypeSchema) },
    ...problemResponses(409, 413),
  },
});

const remove = createRoute({
  method: 'delete',
  path: '/event-types/{name}',
  operationId: 'deleteEventType',
  tags,
  summary: 'Remove an event type made over the API',
  description: 'Config-declared and built-in types answer 409. Events already stored are not touched. Needs `write`.',
  request: { params: NameParam },
  responses: { 204: { description: 'removed' }, ...problemResponses(404, 409) },
});

/** Admin routes of the event type catalog. */
export function eventTypeRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/event-types/:name', eventTypeBodyLimit);

  app.openapi(list, (c) => {
    const { limit, cursor } = c.req.valid('query');
    const after = cursor ? decodeCursor(cursor) : undefined;
    const visible = deps.catalog.all().filter((t) => mayRead(c, t) && (after === undefined || t.name > after));
    const shown = visible.slice(0, limit);
    const last = shown.at(-1);
    const next = visible.length > limit && last ? Buffer.from(last.name).toString('base64url') : null;
    return c.json({ data: shown.map(eventTypeView), next_cursor: next }, 200);
  });

  app.openapi(get, (c) => {
    const { name } = c.req.valid('param');
    return c.json(eventTypeView(readable(c, deps, name)), 200);
  });

  app.openapi(put, async (c) => {
    const { name } = c.req.valid('param');
    const { name: given, ...definition } = c.req.valid('json');
    if (given !== undefined && given !== name) {
      throw invalidRequest('the name in the body is not the one in the path', [
        { path: 'name', message: `must be '${name}' (or left out)` },
      ]);
    }
    assertWritable(deps, name);
    const { outcome, version } = await deps.store.putEventType(name, definition, deps.clock.now());
    await deps.catalog.refresh();
    await audit(c, deps, `event_type.${outcome === 'created' ? 'create' : 'replace'}`, name, { version });
    const entry = deps.catalog.get(name);
    if (!entry) throw new Error(`event type ${name} was stored but is not in force`);
    return c.json(eventTypeView(entry), outcome === 'created' ? 201 : 200);
  });

  app.openapi(remove, async (c) => {
    const { name } = c.req.valid('param');
    assertWritable(deps, name);
    if (!(await deps.store.deleteEventType(name, deps.clock.now()))) throw unknownEventType(name);
    await deps.catalog.refresh();
    await audit(c, deps, 'event_type.delete', name);
    return c.body(null, 204);
  });

  return app;
}

/** The catalog entry a viewer may read, or 404 (an internal one for a tenant credential too). */
export function readable(c: Context<AdminEnv>, deps: AdminDeps, name: string): CatalogEntry {
  const entry = deps.catalog.get(name);
  if (!entry || !mayRead(c, entry)) throw unknownEventType(name);
  return entry;
}

/** Tenant credentials never see `internal` types (SPEC 11). */
const mayRead = (c: Context<AdminEnv>, entry: CatalogEntry) => !entry.internal || viewerTenant(c) === undefined;

const unknownEventType = (name: string) => new AppError(404, 'not_found', { detail: `no event type '${name}' in the catalog` });

/** 409 for the relay's own and config-declared types; 400 for other `hookrelay.` names. */
function assertWritable(deps: AdminDeps, name: string): void {
  if (deps.catalog.get(name)?.source === 'builtin') {
    throw new AppError(409, 'builtin_event_type', { detail: `'${name}' is one of the relay's own event types; it is read-only` });
  }
  if (name.startsWith(RESERVED_TYPE_PREFIX)) {
    throw invalidRequest(`types starting '${RESERVED_TYPE_PREFIX}' are the relay's own`, [
      { path: 'name', message: `types starting '${RESERVED_TYPE_PREFIX}' are the relay's own (built in)` },
    ]);
  }
  if (deps.catalog.declaredInConfig(name)) {
    throw new AppError(409, 'declared_in_config', {
      detail: `event type '${name}' is declared in the config file; change it there and reload`,
    });
  }
}

function decodeCursor(cursor: string): string {
  const name = Buffer.from(cursor, 'base64url').toString('utf8');
  if (name === '' || Buffer.from(name).toString('base64url') !== cursor) {
    throw new AppError(400, 'invalid_cursor', {
      detail: 'invalid cursor',
      errors: [{ path: 'cursor', message: "not a next_cursor of this listing; start again without 'cursor'" }],
    });
  }
  return name;
}

/** An entry as the API shows it: `schema` and `example` only when it has them. */
export function eventTypeView(t: CatalogEntry) {
  return {
    name: t.name,
    description: t.description,
    ...(t.schema !== undefined && { schema: t.schema }),
    ...(t.example !== undefined && { example: t.example }),
    deprecated: t.deprecated,
    internal: t.internal,
    source: t.source,
    created_at: isoOrNull(t.createdAt),
    updated_at: isoOrNull(t.updatedAt),
  };
}

/**
 * 400 when a tenant's subscription names an internal type in `events` (SPEC 11: tenants cannot
 * subscribe to one). Wildcards are fine: internal types never fan out to tenants' subscriptions.
 */
export function refuseInternalTypes(deps: AdminDeps, tenant: string | null | undefined, events: unknown): void {
  if (tenant === null || tenant === undefined || !Array.isArray(events)) return;
  const errors = events.flatMap((pattern, i) =>
    typeof pattern === 'string' && deps.catalog.get(pattern)?.internal
      ? [{ path: `events[${i}]`, message: `no event type '${pattern}' in the catalog` }]
      : [],
  );
  if (errors.length > 0) throw invalidRequest('a tenant subscription may not name internal event types', errors);
}

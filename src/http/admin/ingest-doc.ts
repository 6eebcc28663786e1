import { z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { batchInputSchema, eventInputSchema } from '../../ingest/event-input';
import type { CatalogEntry } from '../../catalog/catalog';
import type { AdminEnv } from './auth';
import { problemsOf } from './schemas';

/** The ingest paths, served at the root rather than under /api/v1 (each says so with its own `servers`). */
export const INGEST_PATHS = ['/ingest', '/ingest/batch'];

const Ingested = z.object({ id: z.string(), deliveries: z.number().int() }).openapi('Ingested');
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const refusals = problemsOf([400, 401, 409, 413, 415, 429, 503]);

/**
 * Describes `POST /ingest` and `POST /ingest/batch` (SPEC 3) in the admin API's OpenAPI document, so
 * producers can generate a client from it too. They are served by src/http/ingest.ts with the ingest
 * tokens, not by this router: only their description lives here.
 */
export function describeIngest(app: OpenAPIHono<AdminEnv>): void {
  app.openAPIRegistry.registerComponent('securitySchemes', 'ingestAuth', { type: 'http', scheme: 'bearer' });
  const common = { tags: ['ingest'], security: [{ ingestAuth: [] }] };
  app.openAPIRegistry.registerPath({
    ...common,
    method: 'post',
    path: '/ingest',
    operationId: 'ingestEvent',
    summary: 'Ingest one event: stored, then delivered to every matching subscription',
    description:
      'Answers only after the event and its deliveries are committed. The same `id` (or `Idempotency-Key`) with the same content answers 200 with the first answer; with other content 409.',
    request: {
      headers: z.object({ 'idempotency-key': z.string().optional().openapi({ description: 'the event id, if the body has none' }) }),
      body: { required: true, ...json(eventInputSchema.openapi('EventInput')) },
    },
    responses: {
      202: { description: 'stored with this many deliveries', ...json(Ingested) },
      200: { description: 'an identical replay of an event stored before: the first answer', ...json(Ingested) },
      ...refusals,
    },
  });
  app.openAPIRegistry.registerPath({
    ...common,
    method: 'post',
    path: '/ingest/batch',
    operationId: 'ingestBatch',
    summary: 'Ingest up to 1000 events at once: all or none',
    request: { body: { required: true, ...json(batchInputSchema.openapi('BatchInput')) } },
    responses: {
      202: { description: 'stored, in the order given', ...json(z.object({ events: z.array(Ingested) }).openapi('IngestedBatch')) },
      200: { description: 'every event was an identical replay', ...json(z.object({ events: z.array(Ingested) })) },
      ...refusals,
    },
  });
}

/** An OpenAPI document as built by the registry: only the parts the catalog adds to. */
interface OpenApiDoc {
  components?: { schemas?: Record<string, unknown> } | undefined;
  webhooks?: Record<string, unknown> | undefined;
}

/** The component name of a type's `data` schema: component names allow `A-Z a-z 0-9 . _ -`, not `:`. */
export const eventDataComponent = (name: string) => `EventData.${name.replace(/:/g, '_')}`;

/**
 * The document with the catalog's non-internal types (SPEC 11): each type's `data` as a component
 * schema (its example as `examples`), and each type as an OpenAPI 3.1 `webhook` whose body is the
 * envelope a receiver gets, its `type` fixed and its `data` that component. Internal types are
 * never shown: tenant credentials read this document too.
 */
export function withEventTypes<D extends OpenApiDoc>(doc: D, types: readonly CatalogEntry[]): D {
  const schemas: Record<string, unknown> = { ...doc.components?.schemas };
  const webhooks: Record<string, unknown> = { ...doc.webhooks };
  for (const t of types) {
    if (t.internal) continue;
    const component = eventDataComponent(t.name);
    schemas[component] = dataSchema(t, component);
    webhooks[t.name] = {
      post: {
        summary: t.description ?? t.name,
        ...(t.deprecated && { deprecated: true }),
        tags: ['event types'],
        requestBody: {
          required: true,
          content: { 'application/json': { schema: envelopeOf(t.name, component) } },
        },
        responses: { '2XX': { description: 'received; any other answer is retried' } },
      },
    };
  }
  return { ...doc, components: { ...doc.components, schemas }, webhooks };
}

function dataSchema(t: CatalogEntry, component: string): unknown {
  const base = t.schema === undefined ? {} : t.schema === true ? {} : t.schema === false ? { not: {} } : rebase(t.schema, component);
  return {
    ...(base as object),
    ...(t.description !== null && { description: t.description }),
    ...(t.example !== undefined && { examples: [t.example] }),
  };
}

function envelopeOf(name: string, component: string) {
  return {
    type: 'object',
    required: ['id', 'type', 'timestamp', 'data'],
    properties: {
      id: { type: 'string', description: 'the event id: the same for every attempt' },
      type: { const: name },
      timestamp: { type: 'string', format: 'date-time' },
      tenant: { type: 'string', description: 'present when the event has a tenant' },
      data: { $ref: `#/components/schemas/${component}` },
    },
  };
}

/** The schema with its local `$ref`s (`#/$defs/…`) pointing inside its component, where it now lives. */
function rebase(node: unknown, component: string): unknown {
  if (Array.isArray(node)) return node.map((n) => rebase(n, component));
  if (typeof node !== 'object' || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => {
      if ((key === '$ref' || key === '$dynamicRef') && typeof value === 'string' && (value === '#' || value.startsWith('#/'))) {
        return [key, `#/components/schemas/${component}${value.slice(1)}`];
      }
      // Data keywords hold values, not schemas.
      if (['const', 'enum', 'default', 'examples', 'example'].includes(key)) return [key, value];
      return [key, rebase(value, component)];
    }),
  );
}

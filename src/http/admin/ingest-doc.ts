import { z } from '@hono/zod-openapi';
import type { OpenAPIHono } from '@hono/zod-openapi';
import { batchInputSchema, eventInputSchema } from '../../ingest/event-input';
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

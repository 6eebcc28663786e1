import { createRoute, z } from '@hono/zod-openapi';
import type { Context, TypedResponse } from 'hono';
import type { AdminDeps } from './deps';
import { envelopeValue } from '../../subscriptions/envelope';
import type { StoredEvent } from '../../store/types';
import { AppError } from '../problem';
import { audit } from './audit';
import { withCursor } from './cursor';
import { DeliverySchema, deliveryView } from './delivery-view';
import { adminRouter } from './router';
import { guardEvent, listingTenant, ownsDelivery, ownsSubscription, shownError, viewerTenant } from './viewer';
import { isoTime, iso, pageOf, pageQuery, problemResponses, tenantQuery } from './schemas';

const EventSchema = z
  .object({
    id: z.string().openapi({ example: 'evt_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }),
    type: z.string().openapi({ example: 'payment.completed' }),
    timestamp: z.string().openapi({ description: 'ingest time (the envelope timestamp)' }),
    tenant: z.string().nullable().openapi({ description: "the event's tenant; null for the platform's own events", example: 'acct_42' }),
    test: z.boolean().openapi({ description: 'a test or example event (POST /subscriptions/{id}/test): sent flagged, never replayed' }),
    data: z.unknown().openapi({ description: "the event's data as sent: its exact JSON text, numbers and escapes included" }),
    deliveries: z
      .number()
      .int()
      .openapi({ description: 'deliveries made at ingest (the ingest answer); replays add more, listed by GET /events/{id}' }),
  })
  .openapi('Event');

const EventDetailSchema = EventSchema.omit({ deliveries: true })
  .extend({ deliveries: z.array(DeliverySchema) })
  .openapi('EventDetail');

const idParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'evt_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }) });

const listEvents = createRoute({
  method: 'get',
  path: '/events',
  operationId: 'listEvents',
  tags: ['events'],
  summary: 'List events, newest first',
  request: {
    query: z.object({
      type: z.string().min(1).max(128).optional().openapi({ description: 'exact event type' }),
      tenant: tenantQuery,
      since: isoTime('ingested at or after this time'),
      until: isoTime('ingested before this time'),
      ...pageQuery,
    }),
  },
  responses: {
    200: { description: 'one page of events', content: { 'application/json': { schema: pageOf(EventSchema) } } },
    ...problemResponses(),
  },
});

const getEvent = createRoute({
  method: 'get',
  path: '/events/{id}',
  operationId: 'getEvent',
  tags: ['events'],
  summary: 'An event with its deliveries',
  request: { params: idParam },
  responses: {
    200: { description: 'the event', content: { 'application/json': { schema: EventDetailSchema } } },
    ...problemResponses(404),
  },
});

const replayEvent = createRoute({
  method: 'post',
  path: '/events/{id}/replay',
  operationId: 'replayEvent',
  tags: ['events'],
  summary: 'Send an event again as new deliveries',
  description:
    'Creates one new `pending` delivery per subscription. Without `subscriptions`, every enabled subscription that matches the event now ' +
    '(patterns and filter) gets one. Named subscriptions must exist and be enabled; they get the event even if they would not match it. ' +
    'Receivers see the same `webhook-id` as the first time, so idempotent receivers ignore it.',
  request: {
    params: idParam,
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.strictObject({
            subscriptions: z
              .array(z.string().min(1))
              .min(1)
              .max(1000)
              .optional()
              .openapi({ description: 'subscription ids; default every matching one' }),
          }),
        },
      },
    },
  },
  responses: {
    202: {
      description: 'the new deliveries were stored and will be sent',
      content: {
        'application/json': { schema: z.object({ deliveries: z.array(z.string()).openapi({ description: 'new delivery ids' }) }) },
      },
    },
    ...problemResponses(404),
  },
});

/** Admin routes: events (SPEC 8). */
export function eventRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/events/:id', guardEvent(deps));
  app.use('/events/:id/*', guardEvent(deps));

  app.openapi(listEvents, async (c) => {
    const { type, tenant: asked, since, until, limit, cursor } = c.req.valid('query');
    const tenant = listingTenant(c, asked);
    const page = await withCursor(() => deps.store.listEvents({ type, tenant, since, until, limit, cursor: cursor || undefined }));
    const events = page.data.map((e) => eventJson(e, { deliveries: e.deliveryCount }));
    return jsonText(c, `{"data":[${events.join(',')}],"next_cursor":${JSON.stringify(page.nextCursor)}}`);
  });

  app.openapi(getEvent, async (c) => {
    const { id } = c.req.valid('param');
    const event = await deps.store.getEvent(id);
    if (!event) throw new AppError(404, 'not_found', { detail: `no event ${id}` });
    const all = await deps.store.listDeliveriesOfEvent(id);
    const viewer = viewerTenant(c);
    // A tenant credential sees its own deliveries of its event, not those to platform subscriptions.
    const deliveries = viewer === undefined ? all : all.filter((d) => ownsDelivery(deps, viewer, d));
    return jsonText(
      c,
      eventJson(event, { deliveries: deliveries.map((d) => deliveryView({ ...d, lastError: shownError(c, d.lastError) })) }),
    );
  });

  app.openapi(replayEvent, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    const event = await deps.store.getEvent(id);
    if (!event) throw new AppError(404, 'not_found', { detail: `no event ${id}` });
    const owner = viewerTenant(c);
    if (event.test || (owner !== undefined && event.type.startsWith('hookrelay.'))) {
      throw new AppError(409, 'not_replayable', {
        detail: event.test
          ? `event ${id} is a test event; send another test instead of replaying it`
          : `event ${id} is a ${event.type} event of the relay's own; it cannot be replayed`,
      });
    }
    const targets = body.subscriptions ? checkedSubscriptions(deps, body.subscriptions, owner) : matchingNow(deps, event, owner);
    const now = deps.clock.now();
    const ids = targets.length === 0 ? [] : await deps.store.addDeliveries(id, targets, now);
    // addDeliveries answers [] for an event deleted since getEvent (retention): the same 404.
    if (targets.length > 0 && ids.length === 0) throw new AppError(404, 'not_found', { detail: `no event ${id}` });
    if (ids.length > 0) deps.nudge();
    await audit(c, deps, 'event.replay', id, { subscriptions: targets, deliveries: ids });
    return c.json({ deliveries: ids }, 202);
  });

  return app;
}

/**
 * An event as JSON text with `data` spliced in as stored, then `rest`. SPEC 5: the API shows data as
 * sent, and JSON.parse then JSON.stringify would not (9007199254740993 would come back rounded).
 */
function eventJson(e: StoredEvent, rest: Record<string, unknown>): string {
  const head = JSON.stringify({ id: e.id, type: e.type, timestamp: iso(e.createdAt), tenant: e.tenant ?? null, test: e.test === true });
  return `${head.slice(0, -1)},"data":${e.data},${JSON.stringify(rest).slice(1)}`;
}

/**
 * A 200 answer of JSON text built by hand (c.json would serialise a value). Typed as the JSON answer
 * the route declares (T is inferred from it): the text has that shape, which the types cannot check.
 */
function jsonText<T>(c: Context, text: string): TypedResponse<T, 200, 'json'> {
  return c.body(text, 200, { 'content-type': 'application/json' }) as unknown as TypedResponse<T, 200, 'json'>;
}

/**
 * Every enabled subscription the event fans out to now (its tenant's too), seeing the envelope a
 * receiver would get; for a tenant credential (`owner`) only its own.
 */
function matchingNow(deps: AdminDeps, event: StoredEvent, owner: string | undefined): string[] {
  const fanout = deps.live.matching(event.type, () => envelopeValue(event, JSON.parse(event.data)), event.tenant);
  return owner === undefined ? [...fanout.platform, ...fanout.tenant] : [...fanout.tenant];
}

/** Named subscriptions must exist and be enabled: a delivery to a disabled one would wait, unsent, until it is enabled again. */
function checkedSubscriptions(deps: AdminDeps, ids: string[], owner: string | undefined): string[] {
  const bad = ids.flatMap((sub, i) => {
    // Another tenant's or a platform subscription is unknown to a tenant credential.
    const target = owner === undefined || ownsSubscription(deps, owner, sub) ? deps.live.get(sub) : undefined;
    if (target?.enabled) return [];
    return [
      {
        sub,
        path: `subscriptions[${i}]`,
        message: target ? `subscription '${sub}' is disabled; enable it first` : `no subscription '${sub}'`,
      },
    ];
  });
  if (bad.length > 0) {
    const named = [...new Set(bad.map((b) => b.sub))].join(', ');
    const errors = bad.map(({ path, message }) => ({ path, message }));
    throw new AppError(400, 'invalid_request', { detail: `cannot replay to unknown or disabled subscriptions: ${named}`, errors });
  }
  return [...new Set(ids)];
}

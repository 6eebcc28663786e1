import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { invalidRequest } from '../../lib/app-error';
import type { AdminEnv } from './auth';
import type { AdminDeps } from './deps';
import { viewerTenant } from './viewer';
import { recoverDeliveries, rotateSecret, sendTestEvent } from '../../subscriptions/actions';
import { audit } from './audit';
import { adminRouter } from './router';
import { problemResponses } from './schemas';
import { RecoverBody, RotateSecretBody, RotationSchema, SubscriptionIdParam } from './subscriptions-schemas';

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const tags = ['subscriptions'];

const rotate = createRoute({
  method: 'post',
  path: '/subscriptions/{id}/rotate-secret',
  operationId: 'rotateSubscriptionSecret',
  tags,
  summary: 'New signing secret; the old one keeps signing for keep_old_for',
  description:
    'API subscriptions only (config ones rotate in the config file with previous_secrets). Until the old secret expires, every request carries ' +
    'one signature per secret. Previous secrets already expired are dropped. The new secret is shown only in this answer.',
  request: { params: SubscriptionIdParam, body: { required: false, ...json(RotateSecretBody) } },
  responses: { 200: { description: 'rotated', ...json(RotationSchema) }, ...problemResponses(404, 409) },
});

const TestBody = z
  .strictObject({
    event_type: z.string().optional().openapi({
      description: "a catalog type with an example: that example is sent as `data`, with the type's name",
      example: 'invoice.paid',
    }),
  })
  .openapi('TestEventInput');

const test = createRoute({
  method: 'post',
  path: '/subscriptions/{id}/test',
  operationId: 'sendTestEvent',
  tags,
  summary: "Send a hookrelay.test event, or an event type's catalog example, to this subscription only",
  description:
    "Delivered like any event, whatever the subscription's patterns and filter. A disabled subscription answers 409. " +
    '`event_type` not in the catalog (or internal, for a tenant credential), or without an example: 400.',
  request: { params: SubscriptionIdParam, body: { required: false, ...json(TestBody) } },
  responses: {
    202: {
      description: 'the test event and its delivery are stored and will be sent',
      ...json(z.object({ event_id: z.string(), delivery_id: z.string() }).openapi('TestEvent')),
    },
    ...problemResponses(404, 409),
  },
});

const recover = createRoute({
  method: 'post',
  path: '/subscriptions/{id}/recover',
  operationId: 'recoverSubscriptionDeliveries',
  tags,
  summary: 'Retry every failed delivery of this subscription created in [since, until)',
  request: { params: SubscriptionIdParam, body: { required: true, ...json(RecoverBody) } },
  responses: {
    202: { description: 'the failed deliveries are due again', ...json(z.object({ recovered: z.number().int() }).openapi('Recovered')) },
    ...problemResponses(404),
  },
});

/** The catalog example of `name` as a test event's type and data; 400 when the viewer may not read it or it has none. */
function exampleOf(c: Context<AdminEnv>, deps: AdminDeps, name: string): { type: string; dataText: string } {
  const entry = deps.catalog.get(name);
  if (!entry || (entry.internal && viewerTenant(c) !== undefined)) {
    throw invalidRequest(`no event type '${name}' in the catalog`, [{ path: 'event_type', message: 'not in the event type catalog' }]);
  }
  if (entry.example === undefined) {
    throw invalidRequest(`event type '${name}' has no example to send`, [
      { path: 'event_type', message: 'this type has no example; give it one (PUT /event-types/{name}) or leave event_type out' },
    ]);
  }
  return { type: entry.name, dataText: JSON.stringify(entry.example) };
}

/** Admin routes: actions on one subscription (rotate-secret, test, recover). */
export function subscriptionActionRoutes(deps: AdminDeps) {
  const app = adminRouter();

  app.openapi(rotate, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json') ?? {};
    const keepOldFor = body.keep_old_for ?? '24h';
    const rotation = await rotateSecret(deps, id, { secret: body.secret, keepOldFor });
    // Never the secret: only whether one was given, and when the old ones expire.
    await audit(c, deps, 'subscription.rotate_secret', id, { secret_given: body.secret !== undefined, keep_old_for: keepOldFor });
    return c.json(rotation, 200);
  });

  app.openapi(test, async (c) => {
    const { id } = c.req.valid('param');
    const eventType = c.req.valid('json')?.event_type;
    const example = eventType === undefined ? undefined : exampleOf(c, deps, eventType);
    const { eventId, deliveryId } = await sendTestEvent(deps, id, example);
    await audit(c, deps, 'subscription.test', id, {
      event_id: eventId,
      delivery_id: deliveryId,
      event_type: example?.type ?? 'hookrelay.test',
    });
    return c.json({ event_id: eventId, delivery_id: deliveryId }, 202);
  });

  app.openapi(recover, async (c) => {
    const { id } = c.req.valid('param');
    const { since, until } = c.req.valid('json');
    const recovered = await recoverDeliveries(deps, id, { since, until });
    await audit(c, deps, 'subscription.recover', id, {
      since: new Date(since).toISOString(),
      until: until === undefined ? null : new Date(until).toISOString(),
      recovered,
    });
    return c.json({ recovered }, 202);
  });

  return app;
}

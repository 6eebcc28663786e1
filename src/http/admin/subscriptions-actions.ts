import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from './deps';
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

const test = createRoute({
  method: 'post',
  path: '/subscriptions/{id}/test',
  operationId: 'sendTestEvent',
  tags,
  summary: 'Send a hookrelay.test event to this subscription only',
  description: "Delivered like any event, whatever the subscription's patterns and filter. A disabled subscription answers 409.",
  request: { params: SubscriptionIdParam },
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
    const { eventId, deliveryId } = await sendTestEvent(deps, id);
    await audit(c, deps, 'subscription.test', id, { event_id: eventId, delivery_id: deliveryId });
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

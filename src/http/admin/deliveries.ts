import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from './deps';
import type { DeliveryActionResult } from '../../store/types';
import { AppError } from '../problem';
import { audit } from './audit';
import { withCursor } from './cursor';
import { attemptView, DELIVERY_STATUSES, DeliveryDetailSchema, DeliveryItemSchema, DeliverySchema, deliveryView } from './delivery-view';
import { adminRouter } from './router';
import { guardDelivery, listingTenant, shownError, viewerTenant } from './viewer';
import { isoTime, pageOf, pageQuery, problemResponses, tenantQuery } from './schemas';

const idParam = z.object({ id: z.string().openapi({ param: { name: 'id', in: 'path' }, example: 'dlv_01JD5Z0J6V4Q8Y2N3M4P5R6S7T' }) });

const listDeliveries = createRoute({
  method: 'get',
  path: '/deliveries',
  operationId: 'listDeliveries',
  tags: ['deliveries'],
  summary: 'List deliveries, newest first',
  request: {
    query: z.object({
      status: z.enum(DELIVERY_STATUSES).optional(),
      subscription: z.string().min(1).optional().openapi({ description: 'subscription id' }),
      tenant: tenantQuery,
      event_type: z.string().min(1).max(128).optional().openapi({ description: 'exact event type' }),
      since: isoTime('created at or after this time'),
      until: isoTime('created before this time'),
      ...pageQuery,
    }),
  },
  responses: {
    200: { description: 'one page of deliveries', content: { 'application/json': { schema: pageOf(DeliveryItemSchema) } } },
    ...problemResponses(),
  },
});

const getDelivery = createRoute({
  method: 'get',
  path: '/deliveries/{id}',
  operationId: 'getDelivery',
  tags: ['deliveries'],
  summary: 'A delivery with every attempt',
  description:
    '`attempt_log` holds every attempt, oldest first: request URL and headers, the answer (status, headers, body cut at `delivery.max_response_body`), duration and error.',
  request: { params: idParam },
  responses: {
    200: { description: 'the delivery', content: { 'application/json': { schema: DeliveryDetailSchema } } },
    ...problemResponses(404),
  },
});

/** retry and cancel: the same shape, different store action. */
const actionRoute = (action: 'retry' | 'cancel', summary: string, description: string) =>
  createRoute({
    method: 'post',
    path: `/deliveries/{id}/${action}`,
    operationId: `${action}Delivery`,
    tags: ['deliveries'],
    summary,
    description,
    request: { params: idParam },
    responses: {
      200: { description: 'the delivery after the change', content: { 'application/json': { schema: DeliverySchema } } },
      ...problemResponses(404, 409),
    },
  });

const retryDelivery = actionRoute(
  'retry',
  'Retry a delivery now',
  'Makes the delivery due now, also when it `failed` or was `cancelled`; its attempt count is kept. 409 while it is `delivering` or once it `succeeded`.',
);
const cancelDelivery = actionRoute(
  'cancel',
  'Stop trying a delivery',
  'A `pending` or `retrying` delivery becomes `cancelled` and is never sent again (cancelling a cancelled one changes nothing). 409 in any other status.',
);

/** Admin routes: deliveries (SPEC 8). */
export function deliveryRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/deliveries/:id', guardDelivery(deps));
  app.use('/deliveries/:id/*', guardDelivery(deps));

  app.openapi(listDeliveries, async (c) => {
    const { status, subscription, tenant: asked, event_type, since, until, limit, cursor } = c.req.valid('query');
    const tenant = listingTenant(c, asked);
    // A tenant credential's own: deliveries of its events to its own subscriptions, not to platform ones.
    const owner = viewerTenant(c);
    const subscriptionIn = owner === undefined ? undefined : deps.live.ofTenant(owner).map((t) => t.id);
    const query = {
      ...{ status, subscriptionId: subscription, subscriptionIn, tenant, eventType: event_type },
      ...{ since, until, limit, cursor: cursor || undefined },
    };
    const page = await withCursor(() => deps.store.listDeliveries(query));
    return c.json(
      {
        data: page.data.map((d) => ({ ...deliveryView({ ...d, lastError: shownError(c, d.lastError) }), event_type: d.eventType })),
        next_cursor: page.nextCursor,
      },
      200,
    );
  });

  app.openapi(getDelivery, async (c) => {
    const { id } = c.req.valid('param');
    const delivery = await deps.store.getDelivery(id);
    if (!delivery) throw new AppError(404, 'not_found', { detail: `no delivery ${id}` });
    const [event, attempts] = await Promise.all([deps.store.getEvent(delivery.eventId), deps.store.listAttempts(id)]);
    // A delivery never outlives its event (retention deletes both), but a read between the two may miss it.
    if (!event) throw new AppError(404, 'not_found', { detail: `no delivery ${id}` });
    const attemptLog = attempts.map((a) => attemptView({ ...a, error: shownError(c, a.error) }));
    const shown = { ...delivery, lastError: shownError(c, delivery.lastError) };
    return c.json({ ...deliveryView(shown), event_type: event.type, attempt_log: attemptLog }, 200);
  });

  app.openapi(retryDelivery, async (c) => {
    const { id } = c.req.valid('param');
    const delivery = acted('retry', id, await deps.store.retryDelivery(id, deps.clock.now()));
    deps.nudge();
    await audit(c, deps, 'delivery.retry', id, { subscription: delivery.subscriptionId, event: delivery.eventId });
    return c.json(deliveryView(delivery), 200);
  });

  app.openapi(cancelDelivery, async (c) => {
    const { id } = c.req.valid('param');
    const delivery = acted('cancel', id, await deps.store.cancelDelivery(id, deps.clock.now()));
    await audit(c, deps, 'delivery.cancel', id, { subscription: delivery.subscriptionId, event: delivery.eventId });
    return c.json(deliveryView(delivery), 200);
  });

  return app;
}

/** The delivery after a store action, or the 404/409 that explains why it did not happen. */
function acted(action: 'retry' | 'cancel', id: string, result: DeliveryActionResult) {
  if (result.kind === 'not_found') throw new AppError(404, 'not_found', { detail: `no delivery ${id}` });
  if (result.kind === 'conflict')
    throw new AppError(409, 'delivery_state', { detail: `cannot ${action} delivery ${id}: it is ${result.status}` });
  return result.delivery;
}

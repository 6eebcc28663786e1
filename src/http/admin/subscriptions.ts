import { createRoute, z } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../problem';
import type { AdminDeps } from './deps';
import {
  createSubscription,
  deleteSubscription,
  getSubscription,
  listSubscriptions,
  updateSubscription,
} from '../../subscriptions/service';
import { audit } from './audit';
import { adminRouter } from './router';
import { pageOf, pageQuery, problemResponses, tenantQuery } from './schemas';
import { subscriptionActionRoutes } from './subscriptions-actions';
import { refuseInternalTypes } from './event-types';
import { guardSubscription, listingTenant, viewerTenant } from './viewer';
import {
  CreatedSubscriptionSchema,
  SubscriptionIdParam,
  SubscriptionInputSchema,
  SubscriptionPatchSchema,
  SubscriptionSchema,
} from './subscriptions-schemas';

/** Largest body of a subscription create or change, bytes (SPEC 13): 64kb. */
export const SUBSCRIPTION_BODY_LIMIT = 64 * 1024;

/**
 * 413 for a subscription body over SUBSCRIPTION_BODY_LIMIT, counted on the bytes received (chunked
 * too), before the body is parsed. Connection: close so the client stops sending the rest.
 */
const subscriptionBodyLimit = bodyLimit({
  maxSize: SUBSCRIPTION_BODY_LIMIT,
  onError: () => {
    throw new AppError(413, 'payload_too_large', {
      detail: `a subscription body may be at most 64kb (${SUBSCRIPTION_BODY_LIMIT} bytes)`,
      headers: { connection: 'close' },
    });
  },
});

const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } } });
const tags = ['subscriptions'];

const list = createRoute({
  method: 'get',
  path: '/subscriptions',
  operationId: 'listSubscriptions',
  tags,
  summary: 'Every subscription (config and API) with its health, in id order',
  request: { query: z.object({ ...pageQuery, tenant: tenantQuery }) },
  responses: { 200: { description: 'one page of subscriptions', ...json(pageOf(SubscriptionSchema)) }, ...problemResponses() },
});

const create = createRoute({
  method: 'post',
  path: '/subscriptions',
  operationId: 'createSubscription',
  tags,
  summary: 'Create a subscription at run time',
  description:
    'The body is a subscription as in the config file, at most 64kb (413 over it). The answer is the only one that shows `signature.secret`.',
  request: { body: { required: true, ...json(SubscriptionInputSchema) } },
  responses: {
    201: { description: 'created; the secret is shown this once', ...json(CreatedSubscriptionSchema) },
    ...problemResponses(404, 409, 413),
  },
});

const get = createRoute({
  method: 'get',
  path: '/subscriptions/{id}',
  operationId: 'getSubscription',
  tags,
  summary: 'One subscription (never its secrets)',
  request: { params: SubscriptionIdParam },
  responses: { 200: { description: 'the subscription', ...json(SubscriptionSchema) }, ...problemResponses(404) },
});

const patch = createRoute({
  method: 'patch',
  path: '/subscriptions/{id}',
  operationId: 'updateSubscription',
  tags,
  summary: 'Change a subscription; config-declared ones accept only enabled',
  description:
    'Enabling also clears a disable caused by 410 Gone. Run-time enable/disable survives restarts. The body is at most 64kb (413 over it).',
  request: { params: SubscriptionIdParam, body: { required: true, ...json(SubscriptionPatchSchema) } },
  responses: { 200: { description: 'the changed subscription', ...json(SubscriptionSchema) }, ...problemResponses(404, 409, 413) },
});

const remove = createRoute({
  method: 'delete',
  path: '/subscriptions/{id}',
  operationId: 'deleteSubscription',
  tags,
  summary: 'Delete an API subscription; its waiting deliveries are cancelled',
  request: { params: SubscriptionIdParam },
  responses: { 204: { description: 'deleted' }, ...problemResponses(404, 409) },
});

/** Admin routes: subscriptions (SPEC 8). The logic is in src/subscriptions; these only translate HTTP. */
export function subscriptionRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.use('/subscriptions', subscriptionBodyLimit);
  app.use('/subscriptions/:id', subscriptionBodyLimit);
  // Every route with a subscription id, its actions included: a tenant credential sees its own only.
  app.use('/subscriptions/:id', guardSubscription(deps));
  app.use('/subscriptions/:id/*', guardSubscription(deps));

  app.openapi(list, async (c) => {
    const { limit, cursor, tenant } = c.req.valid('query');
    const page = await listSubscriptions(deps, { limit, cursor: cursor || undefined, tenant: listingTenant(c, tenant) });
    return c.json({ data: page.data, next_cursor: page.nextCursor }, 200);
  });

  app.openapi(create, async (c) => {
    const body = c.req.valid('json');
    refuseInternalTypes(deps, viewerTenant(c) ?? (typeof body.tenant === 'string' ? body.tenant : undefined), body.events);
    const { view, secretGenerated } = await createSubscription(deps, body, { owner: viewerTenant(c) });
    await audit(c, deps, 'subscription.create', view.id, {
      url: view.url,
      ...(view.tenant !== null && { tenant: view.tenant }),
      scheme: view.signature.scheme,
      secret_generated: secretGenerated,
    });
    c.header('location', `/api/v1/subscriptions/${view.id}`);
    return c.json(view, 201);
  });

  app.openapi(get, async (c) => c.json(await getSubscription(deps, c.req.valid('param').id), 200));

  app.openapi(patch, async (c) => {
    const { id } = c.req.valid('param');
    const body = c.req.valid('json');
    refuseInternalTypes(deps, deps.live.get(id)?.tenant, body.events);
    const { view, changed } = await updateSubscription(deps, id, body, c.get('actor').name);
    await audit(c, deps, 'subscription.update', id, { changed });
    return c.json(view, 200);
  });

  app.openapi(remove, async (c) => {
    const { id } = c.req.valid('param');
    await deleteSubscription(deps, id);
    await audit(c, deps, 'subscription.delete', id);
    return c.body(null, 204);
  });

  app.route('/', subscriptionActionRoutes(deps));
  return app;
}

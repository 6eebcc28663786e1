import { createRoute, z } from '@hono/zod-openapi';
import type { AdminDeps } from './deps';
import type { DeliveryStatus, SubscriptionStats } from '../../store/types';
import { DELIVERY_STATUSES } from './delivery-view';
import { adminRouter } from './router';
import { iso, problemResponses } from './schemas';
import { viewerTenant } from './viewer';

const CountsSchema = z
  .object(Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, z.number().int()])) as Record<DeliveryStatus, z.ZodNumber>)
  .openapi('StatusCounts');

const StatsSchema = z
  .object({
    deliveries: CountsSchema.openapi({ description: 'deliveries by status, every subscription' }),
    backlog: z.number().int().openapi({ description: 'waiting deliveries (pending + retrying)' }),
    oldest_waiting_at: z.string().nullable().openapi({ description: 'creation time of the oldest waiting delivery; null when none waits' }),
    subscriptions: z.array(
      z.object({
        id: z.string(),
        counts: CountsSchema,
        backlog: z.number().int(),
        oldest_waiting_at: z.string().nullable(),
      }),
    ),
  })
  .openapi('Stats');

const getStats = createRoute({
  method: 'get',
  path: '/stats',
  operationId: 'getStats',
  tags: ['operations'],
  summary: 'Delivery counts, backlog and the oldest waiting delivery',
  description:
    'Totals and one entry per subscription, sorted by id: every current subscription (zeros when it has no delivery) and every id that ' +
    'still has deliveries although its subscription was removed. Deliveries are kept until retention deletes their event.',
  responses: { 200: { description: 'the counts', content: { 'application/json': { schema: StatsSchema } } }, ...problemResponses() },
});

const zeroCounts = (): Record<DeliveryStatus, number> =>
  Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<DeliveryStatus, number>;

/** `GET /stats` (SPEC 8). */
export function statsRoutes(deps: AdminDeps) {
  const app = adminRouter();
  app.openapi(getStats, async (c) => {
    // A tenant credential counts its own subscriptions only (the ids of removed ones are not known to be its own).
    const owner = viewerTenant(c);
    const current = owner === undefined ? deps.live.all() : [...deps.live.ofTenant(owner)];
    const own = owner === undefined ? undefined : new Set(current.map((t) => t.id));
    const stored = await deps.store.deliveryStats(own === undefined ? undefined : [...own]);
    const byId = new Map<string, SubscriptionStats>(stored.map((s) => [s.subscriptionId, s]));
    for (const t of current) {
      if (!byId.has(t.id)) byId.set(t.id, { subscriptionId: t.id, counts: zeroCounts(), backlog: 0, oldestWaitingCreatedAt: null });
    }
    const subscriptions = [...byId.values()].sort((a, b) =>
      a.subscriptionId < b.subscriptionId ? -1 : a.subscriptionId > b.subscriptionId ? 1 : 0,
    );
    // Totals from the same snapshot as the per-subscription rows, so they always add up.
    const totals = zeroCounts();
    let oldest: number | null = null;
    for (const s of subscriptions) {
      for (const status of DELIVERY_STATUSES) totals[status] += s.counts[status];
      if (s.oldestWaitingCreatedAt !== null && (oldest === null || s.oldestWaitingCreatedAt < oldest)) oldest = s.oldestWaitingCreatedAt;
    }
    return c.json(
      {
        deliveries: totals,
        backlog: totals.pending + totals.retrying,
        oldest_waiting_at: iso(oldest),
        subscriptions: subscriptions.map((s) => ({
          id: s.subscriptionId,
          counts: { ...zeroCounts(), ...s.counts },
          backlog: s.backlog,
          oldest_waiting_at: iso(s.oldestWaitingCreatedAt),
        })),
      },
      200,
    );
  });
  return app;
}

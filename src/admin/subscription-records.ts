import type { RelayCore } from '../app';
import { subscriptionSchema } from '../config/schema';
import type { StoredApiSubscription } from '../store/types';
import { subscriptionView, type SubscriptionRecord, type SubscriptionView } from './subscription-view';

// Where a subscription's definition lives: the config file (always wins) or the API table.
// Subscriptions are few, so every read lists them all rather than adding lookups to the Store.

/** Every subscription the relay dispatches to, by id: config ones, then API ones they do not shadow. */
export async function loadRecords(core: RelayCore): Promise<Map<string, SubscriptionRecord>> {
  const records = new Map<string, SubscriptionRecord>();
  for (const def of core.config().subscriptions) records.set(def.id, { def, source: 'config' });
  for (const stored of await core.store.listApiSubscriptions()) {
    if (records.has(stored.id)) continue;
    // One that no longer validates is skipped at load too (loadTargets logs it): not dispatched, not shown.
    const parsed = subscriptionSchema.safeParse(stored.spec);
    if (parsed.success)
      records.set(stored.id, { def: parsed.data, source: 'api', createdAt: stored.createdAt, updatedAt: stored.updatedAt });
  }
  return records;
}

/** The stored API subscription with this id, unless the config declares the id (then it is shadowed). */
export async function findApiSubscription(core: RelayCore, id: string): Promise<StoredApiSubscription | undefined> {
  if (isDeclaredInConfig(core, id)) return undefined;
  return (await core.store.listApiSubscriptions()).find((s) => s.id === id);
}

export function isDeclaredInConfig(core: RelayCore, id: string): boolean {
  return core.config().subscriptions.some((s) => s.id === id);
}

/** Renders records with their run-time state, health and backlog (two reads for any number of them). */
export async function renderRecords(core: RelayCore, records: SubscriptionRecord[]): Promise<SubscriptionView[]> {
  const [states, stats] = await Promise.all([core.store.getSubscriptionStates(), core.store.deliveryStats()]);
  const stateOf = new Map(states.map((s) => [s.id, s]));
  const statsOf = new Map(stats.map((s) => [s.subscriptionId, s]));
  return records.map((record) => {
    const id = record.def.id;
    const target = core.registry.get(id);
    return subscriptionView(record, {
      enabled: target?.enabled ?? record.def.enabled,
      disabledReason: target?.disabledReason ?? null,
      state: stateOf.get(id),
      stats: statsOf.get(id),
    });
  });
}

import type { Store } from '../store/types';
import type { OperationalEvents } from './events';

/**
 * The store as the relay's own layers use it: attempt results and disables decide and store
 * operational events in their own transaction (SPEC 12), whoever calls them (dispatcher,
 * maintenance, admin API). Each call gets fresh hooks, so a write retried after a failure reports
 * only the events of the attempt that committed.
 */
export function withOperationalEvents(store: Store, events: OperationalEvents): Store {
  return {
    ...store,
    async complete(results, now, ops) {
      if (ops !== undefined || results.length === 0) return store.complete(results, now, ops);
      const write = events.forWrite();
      const written = await store.complete(results, now, write.hooks);
      events.committed(write);
      return written;
    },
    async setSubscriptionEnabled(id, enabled, reason, now, ops) {
      if (ops !== undefined || enabled !== false) return store.setSubscriptionEnabled(id, enabled, reason, now, ops);
      const write = events.forWrite();
      await store.setSubscriptionEnabled(id, enabled, reason, now, write.hooks);
      events.committed(write);
    },
  };
}

import type { Store } from '../store/types';
import type { OperationalEvents } from './events';

/**
 * The store as the relay's own layers use it: attempt results and disables decide and store
 * operational events in their own transaction (SPEC 12), whoever calls them (dispatcher,
 * maintenance, admin API). Each call gets fresh hooks, so a write retried after a failure reports
 * only the events of the attempt that committed. Every other member is read from `store` at each
 * use (a Proxy, not a copy), so whatever replaces a method of `store` later still takes effect.
 */
export function withOperationalEvents(store: Store, events: OperationalEvents): Store {
  const complete: Store['complete'] = async (results, now, ops) => {
    if (ops !== undefined || results.length === 0) return store.complete(results, now, ops);
    const write = events.forWrite();
    const written = await store.complete(results, now, write.hooks);
    events.committed(write);
    return written;
  };
  const setSubscriptionEnabled: Store['setSubscriptionEnabled'] = async (id, enabled, reason, now, ops) => {
    if (ops !== undefined || enabled !== false) return store.setSubscriptionEnabled(id, enabled, reason, now, ops);
    const write = events.forWrite();
    await store.setSubscriptionEnabled(id, enabled, reason, now, write.hooks);
    events.committed(write);
  };
  return new Proxy(store, {
    get(target, key) {
      if (key === 'complete') return complete;
      if (key === 'setSubscriptionEnabled') return setSubscriptionEnabled;
      return Reflect.get(target, key);
    },
  });
}

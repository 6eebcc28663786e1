import type { IngestResult, NewEvent, Store } from '../store/types';

interface Pending {
  events: NewEvent[];
  resolve: (result: IngestResult) => void;
  reject: (err: unknown) => void;
}

/** Subscriptions that got new deliveries in a committed group (a disabled tenant's own ones included: a claim finds none). */
function woken(group: Pending[], results: IngestResult[]): Set<string> {
  const ids = new Set<string>();
  group.forEach((p, i) => {
    const result = results[i];
    if (result?.kind !== 'ok') return;
    p.events.forEach((e, j) => {
      if (!result.events[j]?.created) return;
      for (const id of e.subscriptionIds) ids.add(id);
      for (const id of e.tenantSubscriptionIds ?? []) ids.add(id);
    });
  });
  return ids;
}

/** Most requests folded into one transaction. */
const MAX_GROUP = 512;

/**
 * Group commit: ingest requests that arrive in the same event-loop turn share one transaction and
 * one fsync. Each caller's promise settles only after the transaction holding its rows committed.
 */
export function createIngestCommitter(store: Store, onCommitted: (subscriptionIds: Set<string>) => void) {
  let queue: Pending[] = [];
  let scheduled = false;
  let running: Promise<void> = Promise.resolve();

  async function flush(): Promise<void> {
    scheduled = false;
    while (queue.length > 0) {
      const group = queue.slice(0, MAX_GROUP);
      queue = queue.slice(group.length);
      try {
        const results = await store.ingest(group.map((p) => p.events));
        for (const [i, p] of group.entries()) p.resolve(results[i]!);
        onCommitted(woken(group, results));
      } catch (err) {
        for (const p of group) p.reject(err);
      }
    }
  }

  return {
    /** Store one request's events (all or none); resolves after they are durable. */
    submit(events: NewEvent[]): Promise<IngestResult> {
      return new Promise((resolve, reject) => {
        queue.push({ events, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => {
            running = running.then(flush);
          });
        }
      });
    },
    /** Resolves when everything submitted so far has been written (or failed). */
    drain: () => running,
  };
}

export type IngestCommitter = ReturnType<typeof createIngestCommitter>;

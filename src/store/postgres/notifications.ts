import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { clientTimeouts, type PostgresOptions } from './connect';
import type { Runner } from './run';

/** How often the LISTEN connection is checked with a query: a silent dead connection would miss every wake-up. */
const HEARTBEAT_MS = 5000;
/** Pause before reopening a LISTEN connection that failed, ms: short, so wake-ups resume soon after an outage. */
const REOPEN_MS = 500;

/** Longest list of subscription ids sent with a wake-up, in characters (Postgres allows just under 8000 bytes). */
const MAX_PAYLOAD = 7000;
/** What a notification announces: work that may be due, a subscription change, an event type catalog change. */
type Kind = 'work' | 'subs' | 'types';

/** One channel per kind and schema, so test schemas do not wake each other. */
const channelOf = (kind: Kind, schema: string | undefined) => `hookrelay_${kind}${schema ? `_${schema}` : ''}`.slice(0, 63);

/**
 * NOTIFY on commit, LISTEN for the other instances: `work` (new deliveries, a retry or a recovery
 * may be due: Store.onWork), `subs` (a subscription changed: Store.onSubscriptionChange) and `types`
 * (the event type catalog changed: Store.onEventTypeChange). One connection LISTENs on all for the whole store, opened with the first listener and reopened
 * after a failure; then every listener is called once, since notifications sent while it was down
 * are lost. Polling stays the safety net, so a missed notification only delays.
 */
export function createNotifications(opts: PostgresOptions) {
  const { url, schema } = opts;
  const kinds: Kind[] = ['work', 'subs', 'types'];
  const channels = { work: channelOf('work', schema), subs: channelOf('subs', schema), types: channelOf('types', schema) };
  const listeners = { work: new Set<(ids?: string[]) => void>(), subs: new Set<() => void>(), types: new Set<() => void>() };
  let listening: pg.Client | undefined;
  let closed = false;
  /**
   * Names this store in the wake-ups of its own ingests: its process nudges its dispatcher for
   * those as it commits them, so its listener skips them instead of claiming a second time.
   */
  const origin = randomBytes(6).toString('hex');

  async function listen(reopened = false): Promise<void> {
    if (listening || kinds.every((k) => listeners[k].size === 0) || closed) return;
    const client = new pg.Client({ connectionString: url, ...clientTimeouts(opts) });
    listening = client;
    let heartbeat: NodeJS.Timeout | undefined;
    const retry = () => {
      clearInterval(heartbeat);
      if (listening !== client) return;
      listening = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void listen(true), REOPEN_MS).unref();
    };
    client.on('error', retry);
    client.on('end', retry);
    client.on('notification', (message) => {
      const kind = kinds.find((k) => channels[k] === message.channel) ?? 'work';
      // A wake-up names the subscriptions that got work when they fitted (see notifyWork), after
      // `<origin>:` when an ingest sent it (see workNotice); no subscription id holds a ':'.
      let payload = message.payload ?? '';
      const colon = payload.indexOf(':');
      if (kind === 'work' && colon >= 0) {
        if (payload.slice(0, colon) === origin) return;
        payload = payload.slice(colon + 1);
      }
      const ids = kind === 'work' && payload ? payload.split(',') : undefined;
      for (const l of listeners[kind]) l(ids);
    });
    try {
      await client.connect();
      for (const kind of kinds) await client.query(`LISTEN ${channels[kind]}`);
    } catch {
      retry();
      return;
    }
    // A connection a partition silenced raises nothing until a query on it times out (statement_timeout).
    heartbeat = setInterval(() => void client.query('SELECT 1').catch(retry), HEARTBEAT_MS);
    heartbeat.unref();
    if (reopened) for (const l of kinds.flatMap((k) => [...listeners[k]])) l();
  }

  const subscribe = (kind: Kind, listener: (ids?: string[]) => void) => {
    listeners[kind].add(listener);
    void listen();
    return () => {
      listeners[kind].delete(listener);
    };
  };

  return {
    /**
     * Wakes every instance's dispatcher once the transaction commits, naming the subscriptions that
     * got work when they fit in a notification (else none: any may have).
     */
    async notifyWork(tx: Runner, subscriptionIds: Iterable<string> = []): Promise<void> {
      const payload = [...new Set(subscriptionIds)].join(',');
      await tx.rows(`SELECT pg_notify('${channels.work}', @payload)`, { payload: payload.length <= MAX_PAYLOAD ? payload : '' });
    },
    /**
     * notifyWork's channel and payload for an ingest's insert, which sends it itself. It starts
     * with this store's origin: the other instances claim, this one's listener skips it (the
     * committer nudged this process's dispatcher already).
     */
    workNotice(subscriptionIds: ReadonlySet<string>): { channel: string; payload: string } {
      const payload = [...subscriptionIds].join(',');
      return { channel: channels.work, payload: `${origin}:${payload.length <= MAX_PAYLOAD ? payload : ''}` };
    },
    /** Tells every instance a subscription changed once the transaction commits. */
    async notifySubscriptionChange(tx: Runner): Promise<void> {
      await tx.rows(`SELECT pg_notify('${channels.subs}', '')`);
    },
    /** Tells every instance the event type catalog changed once the transaction commits. */
    async notifyEventTypeChange(tx: Runner): Promise<void> {
      await tx.rows(`SELECT pg_notify('${channels.types}', '')`);
    },
    onWork: (listener: (subscriptionIds?: string[]) => void) => subscribe('work', listener),
    onEventTypeChange: (listener: () => void) => subscribe('types', listener),
    onSubscriptionChange: (listener: () => void) => subscribe('subs', listener),
    async close(): Promise<void> {
      closed = true;
      const client = listening;
      listening = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}

/** The NOTIFY/LISTEN side of one Postgres store. */
export type Notifications = ReturnType<typeof createNotifications>;

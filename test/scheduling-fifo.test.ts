import { describe, expect, it } from 'vitest';
import type { Config } from '../src/config/schema';
import { createSqliteStore } from '../src/store/sqlite/sqlite-store';
import type { Handler, Receiver } from './helpers/receiver';
import { testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';
import { closeAfterEach } from './helpers/lifecycle';

/*
 * `ordering: fifo` end to end: one delivery at a time per subscription, in ingest order, the head
 * holding the rest while it waits for a retry, until it succeeds or fails for good; across restarts.
 */

let relay: RunningRelay | undefined;
const life = closeAfterEach();

/** A receiver that also records the most requests it ever had open at once. */
async function receiver(handler: Handler) {
  let open = 0;
  const stats = { maxOpen: 0 };
  const rx = await life.receiver(async (req, res) => {
    stats.maxOpen = Math.max(stats.maxOpen, ++open);
    try {
      // Stay open a moment so overlapping attempts would be seen overlapping.
      await new Promise((r) => setTimeout(r, 5));
      await handler(req, res);
    } finally {
      open--;
    }
  });
  return Object.assign(rx, { stats });
}

/** Answers 500 to the first `failures` attempts of each event id in `failing`, 200 to the rest. */
function failFirst(failures: Map<string, number>): Handler {
  const seen = new Map<string, number>();
  return (req, res) => {
    const id = req.headers['webhook-id']!;
    const n = (seen.get(id) ?? 0) + 1;
    seen.set(id, n);
    if (n <= (failures.get(id) ?? 0)) res.writeHead(500).end('not yet');
  };
}

function fifoConfig(url: string, retrySchedule: string[], extra: Record<string, unknown> = {}): Config {
  return testConfig({
    delivery: { retry_schedule: retrySchedule },
    subscriptions: [{ id: 'ordered', url, ordering: 'fifo', signature: { scheme: 'standard-webhooks', secret: TEST_SECRET }, ...extra }],
  });
}

/** Ingests events with the given ids in one batch (ids in order) and returns them. */
async function ingestBatch(ids: string[]): Promise<string[]> {
  const res = await relay!.post('/ingest/batch', { events: ids.map((id, n) => ({ id, type: 'order.updated', data: { n } })) });
  expect(res.status).toBe(202);
  return ids;
}

async function ingestOne(id: string): Promise<void> {
  expect((await relay!.post('/ingest', { id, type: 'order.updated', data: {} })).status).toBe(202);
}

const webhookIds = (rx: Receiver) => rx.received.map((r) => r.headers['webhook-id']);
const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `evt_${prefix}_${String(i).padStart(2, '0')}`);

async function statusOf(eventId: string): Promise<string | undefined> {
  return (await relay!.store.listDeliveriesOfEvent(eventId))[0]?.status;
}

describe('ordering: fifo', () => {
  it('delivers one at a time in ingest order; a retrying head holds the rest until it succeeds', async () => {
    const events = ids('retry', 8);
    const rx = await receiver(failFirst(new Map([[events[0]!, 2]])));
    relay = await life.relay(fifoConfig(rx.url, ['50ms', '50ms', '50ms']));
    // One batch and a few single requests behind it: ingest order across requests too.
    await ingestBatch(events.slice(0, 5));
    for (const id of events.slice(5)) await ingestOne(id);

    await rx.waitFor(() => new Set(webhookIds(rx)).size === events.length && rx.received.length === events.length + 2);
    await relay!.until(async () => (await statusOf(events.at(-1)!)) === 'succeeded');
    // Event 1 three times (two failures, then success), and nothing else before its success.
    expect(webhookIds(rx)).toEqual([events[0], events[0], ...events]);
    expect(rx.stats.maxOpen).toBe(1);
  });

  it('a head that fails for good lets the next one go', async () => {
    const events = ids('fail', 4);
    const rx = await receiver(failFirst(new Map([[events[0]!, 99]])));
    relay = await life.relay(fifoConfig(rx.url, ['50ms']));
    await ingestBatch(events);

    await rx.waitFor((r) => r.length === events.length + 1);
    await relay!.until(async () => (await statusOf(events.at(-1)!)) === 'succeeded');
    expect(webhookIds(rx)).toEqual([events[0], ...events]);
    expect(await statusOf(events[0]!)).toBe('failed');
    expect(rx.stats.maxOpen).toBe(1);
  });

  it('holds the order across a restart, with the head retrying and then left in flight by a crash', async () => {
    const events = ids('restart', 5);
    const failing = new Map([[events[0]!, 99]]);
    const rx = await receiver(failFirst(failing));
    const config = fifoConfig(rx.url, ['300ms', '300ms', '300ms', '300ms', '300ms']);
    relay = await life.relay(config);
    await ingestBatch(events);
    await rx.waitFor((r) => r.length === 1);
    await relay!.until(async () => (await statusOf(events[0]!)) === 'retrying');
    await relay.stop();
    relay = undefined;

    // A process that leased the head and died before writing a result: the lease stays behind.
    const store = createSqliteStore({ path: config.storage.sqlite!.path, synchronous: 'normal' });
    const [leased] = await store.claim(
      [{ subscriptionId: 'ordered', limit: 1, leaseExpiresAt: Date.now() + 3_600_000, fifo: true }],
      'crashed-process',
      Date.now() + 1000,
    );
    expect(leased?.event.id).toBe(events[0]);
    await store.close();

    failing.set(events[0]!, 1);
    relay = await life.relay(config);
    await rx.waitFor((r) => r.length === events.length + 1);
    await relay!.until(async () => (await statusOf(events.at(-1)!)) === 'succeeded');
    expect(webhookIds(rx)).toEqual([events[0], ...events]);
    expect(rx.received[1]!.headers['x-hookrelay-attempt']).toBe('2');
    expect(rx.stats.maxOpen).toBe(1);
  });

  it('holds only its own subscription: another one delivers meanwhile', async () => {
    const events = ids('apart', 3);
    const ordered = await receiver(failFirst(new Map([[events[0]!, 99]])));
    const free = await receiver(() => {});
    relay = await life.relay(
      testConfig({
        delivery: { retry_schedule: ['1h'] },
        subscriptions: [
          { id: 'ordered', url: ordered.url, ordering: 'fifo', signature: { scheme: 'none' } },
          { id: 'free', url: free.url, signature: { scheme: 'none' } },
        ],
      }),
    );
    await ingestBatch(events);
    await free.waitFor((r) => r.length === events.length);
    await relay!.until(async () => (await relay!.store.listDeliveriesOfEvent(events[0]!)).some((d) => d.status === 'retrying'));
    // The head waits an hour for its retry; the two behind it are still waiting, untried.
    expect(webhookIds(ordered)).toEqual([events[0]]);
    const behind = await relay.store.listDeliveries({ subscriptionId: 'ordered', status: 'pending', limit: 10 });
    expect(behind.data.map((d) => d.eventId).sort()).toEqual(events.slice(1));
  });
});

import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { closeAfterEach } from './helpers/lifecycle';
import { testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

const life = closeAfterEach();

function sub(id: string, url: string, extra: Record<string, unknown> = {}) {
  return { id, url, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET }, ...extra };
}

async function post(relay: RunningRelay, type: string, data: unknown): Promise<string> {
  const res = await relay.post('/ingest', { type, data });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

describe('retention', () => {
  it('prunes finished events while ingest goes on, and never one still in flight or not yet delivered', async () => {
    const rx = await life.receiver();
    const held = await life.receiver(() => new Promise(() => {})); // never answers: its deliveries stay in flight
    const relay = await life.relay(
      testConfig({
        retention: { succeeded: '300ms', failed: '300ms' },
        delivery: { allow_private_networks: true, timeout: '1m' },
        subscriptions: [sub('orders', rx.url, { events: ['order.*'] }), sub('held', held.url, { events: ['held.*'] })],
      }),
    );
    const heldId = await post(relay, 'held.created', { n: 0 });
    await held.waitFor((r) => r.length === 1);

    // Ingest and prune at the same time: a writer posting events, a sweep after every few.
    const acknowledged: string[] = [];
    let pruned = 0;
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing || i < 200; i++) acknowledged.push(await post(relay, 'order.created', { i }));
    })();
    for (let sweep = 0; sweep < 20; sweep++) {
      await new Promise((r) => setTimeout(r, 50));
      pruned += await relay.app.prune();
    }
    writing = false;
    await writer;

    // Every acknowledged event reached the receiver, pruned or not.
    await rx.waitFor((r) => acknowledged.every((id) => r.some((x) => x.headers['webhook-id'] === id)), 20_000);
    expect(pruned).toBeGreaterThan(0);

    // Once everything is older than the limit, a sweep takes every finished event and nothing else.
    await new Promise((r) => setTimeout(r, 400));
    await relay!.until(async () => (await relay.store.countDeliveriesByStatus()).pending === 0);
    pruned += await relay.app.prune();
    expect(pruned).toBe(acknowledged.length);
    for (const id of acknowledged.slice(-20)) expect(await relay.store.getEvent(id)).toBeNull();
    // The delivery in flight keeps its event.
    expect(await relay.store.getEvent(heldId)).not.toBeNull();
    expect((await relay.store.listDeliveriesOfEvent(heldId))[0]?.status).toBe('delivering');

    // The counter shows what went.
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^hookrelay_events_pruned_total ${acknowledged.length}$`, 'm'));
  });

  it('keeps an event whose delivery failed until the failed limit, and the audit of what happened stays readable until then', async () => {
    const rx = await life.receiver((_req, res) => {
      res.statusCode = 500;
      res.end('broken');
    });
    const relay = await life.relay(
      testConfig({
        retention: { succeeded: '1ms', failed: '1s' },
        delivery: { allow_private_networks: true, retry_schedule: [] },
        subscriptions: [sub('broken', rx.url)],
      }),
    );
    const id = await post(relay, 'order.created', {});
    const [delivery] = await relay!.until(async () => {
      const ds = await relay.store.listDeliveriesOfEvent(id);
      return ds[0]?.status === 'failed' ? ds : undefined;
    });
    await new Promise((r) => setTimeout(r, 50));
    // Only the relay's own hookrelay.delivery.failed about it (no deliveries: nobody subscribed) may go now.
    await relay.app.prune();
    expect(await relay.store.getEvent(id)).not.toBeNull();
    expect((await relay.store.listAttempts(delivery!.id))[0]?.responseBody).toBe('broken');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await relay.app.prune()).toBeGreaterThanOrEqual(1);
    expect(await relay.store.getDelivery(delivery!.id)).toBeNull();
  });

  it('keeps the database file from growing without bound over repeated ingest and prune cycles', async () => {
    const rx = await life.receiver();
    const relay = await life.relay(
      testConfig({
        retention: { succeeded: '1ms', failed: '1ms' },
        delivery: { allow_private_networks: true },
        subscriptions: [sub('orders', rx.url)],
      }),
    );
    const path = relay.config.storage.sqlite!.path;
    const blob = 'x'.repeat(2000);
    const sizes: number[] = [];
    for (let cycle = 0; cycle < 5; cycle++) {
      const events = Array.from({ length: 500 }, (_, i) => ({ type: 'order.created', data: { cycle, i, blob } }));
      for (let b = 0; b < events.length; b += 100)
        expect((await relay.post('/ingest/batch', { events: events.slice(b, b + 100) })).status).toBe(202);
      await rx.waitFor((r) => r.length >= (cycle + 1) * 500, 20_000);
      await relay!.until(async () => (await relay.store.countDeliveriesByStatus()).succeeded === 500);
      await new Promise((r) => setTimeout(r, 5));
      expect(await relay.app.prune()).toBe(500);
      sizes.push(statSync(path).size);
    }
    // The first cycle sets the size; later ones reuse the freed pages instead of growing the file.
    expect(Math.max(...sizes.slice(1))).toBeLessThanOrEqual(sizes[0]! * 1.1);
  });
});

import { describe, expect, it } from 'vitest';
import type { Handler } from './helpers/receiver';
import { testConfig, type RunningRelay } from './helpers/relay';
import { closeAfterEach } from './helpers/lifecycle';

/*
 * How subscriptions share the dispatcher: a per-subscription `rate_limit` on attempts started,
 * and fair shares so a huge backlog of one subscription never starves another.
 */

let relay: RunningRelay | undefined;
const life = closeAfterEach();

const receiver = (handler: Handler = () => {}) => life.receiver(handler);

const slow =
  (ms: number): Handler =>
  () =>
    new Promise((r) => setTimeout(r, ms));

function sub(id: string, url: string, extra: Record<string, unknown> = {}) {
  return { id, url, events: [`${id}.*`], signature: { scheme: 'none' }, ...extra };
}

/** Ingests `n` events of type `<prefix>.happened` in batches of up to 1000. */
async function ingestMany(prefix: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += 1000) {
    const events = Array.from({ length: Math.min(1000, n - done) }, (_, i) => ({ type: `${prefix}.happened`, data: { i: done + i } }));
    const res = await relay!.post('/ingest/batch', { events });
    expect(res.status).toBe(202);
  }
}

/** The most arrivals in any window of `windowMs` (each window starting at an arrival). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start++) {
    while (end < sorted.length && sorted[end]! < sorted[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

async function backlogOf(subscriptionId: string): Promise<number> {
  return (await relay!.store.deliveryStats()).find((s) => s.subscriptionId === subscriptionId)?.backlog ?? 0;
}

describe('rate_limit', () => {
  it('starts at most the limit (plus a small burst) per window, and holds back no other subscription', async () => {
    const limited = await receiver();
    const unlimited = await receiver();
    relay = await life.relay(
      testConfig({ subscriptions: [sub('limited', limited.url, { rate_limit: '20/s' }), sub('unlimited', unlimited.url)] }),
    );
    await ingestMany('limited', 100);
    await ingestMany('unlimited', 100);

    // The unlimited subscription is done while the limited one still has most of its backlog.
    await unlimited.waitFor((r) => r.length === 100);
    expect(await backlogOf('limited')).toBeGreaterThan(50);

    await limited.waitFor((r) => r.length === 100, 30_000);
    const times = limited.received.map((r) => r.at);
    // 20 per second, the bucket's burst of 2 (a tenth of the limit), and 2 for arrival jitter.
    expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(24);
    expect(busiestWindow(times, 500)).toBeLessThanOrEqual(15);
  });
});

describe('fair sharing', () => {
  it.each([
    ['capped by its max_in_flight', { concurrency: 256 }, { max_in_flight: 2 }],
    ['competing for few global slots', { concurrency: 4 }, {}],
  ])('a subscription with thousands waiting does not starve one with ten (%s)', async (_label, delivery, bigExtra) => {
    const big = await receiver(slow(20));
    const small = await receiver();
    relay = await life.relay(testConfig({ delivery, subscriptions: [sub('big', big.url, bigExtra), sub('small', small.url)] }));
    await ingestMany('big', 3000);
    await big.waitFor((r) => r.length > 0);
    // The small subscription's events come last, behind the whole backlog.
    await ingestMany('small', 10);

    await small.waitFor((r) => r.length === 10);
    expect(await backlogOf('small')).toBe(0);
    expect(await backlogOf('big')).toBeGreaterThan(1000);
  });
});

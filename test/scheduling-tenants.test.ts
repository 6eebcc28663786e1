import { describe, expect, it } from 'vitest';
import { adminClient } from './helpers/admin-client';
import { closeAfterEach } from './helpers/lifecycle';
import type { Handler } from './helpers/receiver';
import { eventually, testConfig } from './helpers/relay';

/*
 * SPEC 4 between tenants: `delivery.concurrency` is shared first among the tenants with work (the
 * platform's subscriptions counting as one), then among a tenant's subscriptions; a tenant whose
 * endpoints hang holds one tenant's part, and another tenant's new event still goes out. And the
 * scheduler's guarantees with a thousand tenants' subscriptions, against a real relay.
 */

const life = closeAfterEach();
const OPS = 'ops-token-0123456789';
const INGEST = 'ingest-token-0123456789';
/** Answers nothing, ever: every request to it stays open until the relay gives up or stops. */
const hang: Handler = () => new Promise(() => {});

async function tenantRelay(delivery: Record<string, unknown> = {}, tenants: Record<string, unknown> = {}) {
  const relay = await life.relay(
    testConfig({
      auth: { ingest_tokens: [INGEST], admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      delivery,
      // The receivers are on loopback, which tenants' endpoints may reach only through allowed_networks.
      tenants: { allowed_networks: ['127.0.0.0/8'], ...tenants },
    }),
  );
  const ops = adminClient(() => relay.url, OPS);
  const ingest = async (events: unknown[]) => {
    const res = await relay.post('/ingest/batch', { events }, { authorization: `Bearer ${INGEST}` });
    expect(res.status).toBe(202);
  };
  /** A tenant with one subscription per url; returns the subscription ids. */
  const tenant = async (id: string, urls: string[], extra: Record<string, unknown> = {}) => {
    expect((await ops('PUT', `/tenants/${id}`, {})).status).toBe(201);
    const ids: string[] = [];
    for (const url of urls) {
      const created = await ops('POST', '/subscriptions', { tenant: id, url, timeout: '30s', ...extra });
      expect(created.status).toBe(201);
      ids.push(created.body.id);
    }
    return ids;
  };
  return { relay, ops, ingest, tenant };
}

const events = (tenant: string, n: number, type = 'order.created') => Array.from({ length: n }, (_, i) => ({ type, tenant, data: { i } }));

describe('sharing delivery.concurrency between tenants', () => {
  it('a tenant whose 20 endpoints hang holds one tenant share, and a third tenant still gets its events', async () => {
    const hanging = await life.receiver(hang);
    const alsoHanging = await life.receiver(hang);
    const healthy = await life.receiver();
    const { relay, ingest, tenant } = await tenantRelay({ concurrency: 16 });
    await tenant(
      'acct_many',
      Array.from({ length: 20 }, (_, i) => `${hanging.url}/ep${i}`),
    );
    await tenant('acct_one', [alsoHanging.url], { max_in_flight: 16 });
    await tenant('acct_late', [healthy.url]);

    // Both tenants' backlogs arrive in one commit: two tenants compete for 16 slots.
    await ingest([...events('acct_many', 5), ...events('acct_one', 30)]);
    await hanging.waitFor((r) => r.length >= 8);
    await alsoHanging.waitFor((r) => r.length >= 7);

    // While every one of those attempts still hangs, a third tenant's events go out, one by one
    // through the slot kept for tenants with nothing in flight.
    await ingest(events('acct_late', 3));
    await healthy.waitFor((r) => r.length === 3);
    // acct_many's 20 endpoints (100 deliveries) hold its half of the slots, not one slot per endpoint.
    await relay.until(async () => relay.app.dispatcher.inFlightCount() === 15);
    expect(hanging.received.length).toBe(8);
    expect(alsoHanging.received.length).toBe(7);
  });

  it('one busy tenant among idle ones gets every slot but the reserve', async () => {
    const hanging = await life.receiver(hang);
    const { relay, ingest, tenant } = await tenantRelay({ concurrency: 16 }, { subscription_bounds: { max_in_flight: 64 } });
    await tenant('acct_busy', [hanging.url], { max_in_flight: 64 });
    for (let i = 0; i < 10; i++) await tenant(`acct_idle${i}`, ['http://127.0.0.1:9/idle']);
    await ingest(events('acct_busy', 40));
    await hanging.waitFor((r) => r.length >= 15);
    await relay.until(async () => relay.app.dispatcher.inFlightCount() === 15);
    expect(hanging.received.length).toBe(15);
  });
});

describe('a thousand tenants', () => {
  it('each event reaches its own tenant only; fifo and rate_limit hold among them', async () => {
    const receiver = await life.receiver();
    const { relay, ops, ingest, tenant } = await tenantRelay({ concurrency: 64 }, { max_subscriptions: 5 });
    const N = 1000;
    for (let start = 0; start < N; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, N - start) }, (_, j) => tenant(`acct_${start + j}`, [`${receiver.url}/t/acct_${start + j}`])),
      );
    }
    // acct_0 also has a fifo endpoint and a rate-limited one.
    const [fifo] = await tenant('acct_fifo', [`${receiver.url}/fifo`], { ordering: 'fifo' });
    const [limited] = await tenant('acct_limited', [`${receiver.url}/limited`], { rate_limit: '20/s' });
    expect(fifo).toMatch(/^sub_[a-z0-9]{26}$/);
    expect(limited).toMatch(/^sub_[a-z0-9]{26}$/);

    const all = Array.from({ length: N }, (_, i) => ({ type: 'order.created', tenant: `acct_${i}`, data: { tenant: `acct_${i}` } }));
    await ingest([...all.slice(0, 500), ...events('acct_fifo', 20), ...events('acct_limited', 40)]);
    await ingest(all.slice(500));
    await receiver.waitFor((r) => r.length === N + 60, 60_000);

    // Every tenant's event at that tenant's endpoint, once.
    const byPath = new Map<string, string[]>();
    for (const r of receiver.received) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r.body]);
    for (let i = 0; i < N; i++) {
      const bodies = byPath.get(`/t/acct_${i}`) ?? [];
      expect(bodies).toHaveLength(1);
      expect(JSON.parse(bodies[0]!)).toMatchObject({ tenant: `acct_${i}`, data: { tenant: `acct_${i}` } });
    }
    // fifo: in ingest order.
    expect((byPath.get('/fifo') ?? []).map((b) => JSON.parse(b).data.i)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // rate_limit 20/s with its burst of 2: at most 22 (plus 2 for arrival jitter) in any second.
    const times = receiver.received.filter((r) => r.path === '/limited').map((r) => r.at);
    let most = 0;
    for (const t of times) most = Math.max(most, times.filter((u) => u >= t && u < t + 1000).length);
    expect(most).toBeLessThanOrEqual(24);
    // Nothing is left in flight once the last results are written (they gather for a few ms).
    const stats = await ops('GET', '/stats');
    expect(stats.status).toBe(200);
    await eventually(async () => relay.app.dispatcher.inFlightCount() === 0);
  }, 120_000);
});

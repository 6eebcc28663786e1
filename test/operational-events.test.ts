import type { ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { type AdminCall, adminClient } from './helpers/admin-client';
import { closeAfterEach } from './helpers/lifecycle';
import type { Received, Receiver } from './helpers/receiver';
import { TEST_SECRET, testConfig, type RunningRelay } from './helpers/relay';

/*
 * Operational events (SPEC 12): the relay reports on its own deliveries with `hookrelay.*` events,
 * stored and delivered like any other (signed, retried), once per occurrence.
 */

const ADMIN_TOKEN = 'admin-token-for-tests-0123';
const admins = { admin_tokens: [{ name: 'ops', token: ADMIN_TOKEN, scopes: ['read', 'write'] }] };
const { relay: startRelay, receiver: startReceiver } = closeAfterEach();

/** A platform subscription to every operational event, signed with standard-webhooks. */
const opsSubscription = (url: string, extra: Record<string, unknown> = {}) => ({
  id: 'ops',
  url,
  events: ['hookrelay.*'],
  signature: { scheme: 'standard-webhooks', secret: TEST_SECRET },
  ...extra,
});

/** The envelopes of a receiver's requests of one type. */
function envelopes(r: Receiver, type: string): { id: string; type: string; tenant?: string; data: Record<string, unknown> }[] {
  return r.received.map((q) => JSON.parse(q.body)).filter((e) => e.type === type);
}

const hasType =
  (type: string, n = 1) =>
  (received: Received[]) =>
    received.filter((q) => JSON.parse(q.body).type === type).length >= n;

/** The stored events of one type (the relay's own view: every one, delivered or not). */
async function stored(relay: RunningRelay, type: string) {
  return (await relay.store.listEvents({ type, limit: 500 })).data;
}

/** Creates a tenant's subscription over the admin API; returns its id. */
async function createTenantSubscription(api: AdminCall, tenant: string, url: string, events: string[]): Promise<string> {
  const res = await api('POST', '/subscriptions', { tenant, url, events, signature: { scheme: 'none' } });
  expect(res.status, res.text).toBe(201);
  return res.body.id as string;
}

const answer = (code: { status: number }) => (_req: Received, res: ServerResponse) => void res.writeHead(code.status).end();

describe('operational events', () => {
  it('sends failing once when the streak reaches alerts.failing_after, signed, then recovered at the first success', async () => {
    const code = { status: 500 };
    const flaky = await startReceiver(answer(code));
    const ops = await startReceiver();
    const relay = await startRelay(
      testConfig({
        alerts: { failing_after: 3 },
        delivery: { retry_schedule: ['20ms', '20ms', '20ms', '20ms', '20ms', '20ms'] },
        subscriptions: [{ id: 'flaky', url: flaky.url, signature: { scheme: 'none' } }, opsSubscription(ops.url)],
      }),
    );
    expect((await relay.post('/ingest', { type: 'order.created', data: { n: 1 } })).status).toBe(202);
    await ops.waitFor(hasType('hookrelay.subscription.failing'));
    code.status = 200;
    await ops.waitFor(hasType('hookrelay.subscription.recovered'));

    const [failing] = ops.received.filter((q) => JSON.parse(q.body).type === 'hookrelay.subscription.failing');
    const verified = new Webhook(TEST_SECRET).verify(failing!.body, failing!.headers) as { data: Record<string, unknown>; tenant?: string };
    expect(verified.data).toEqual({ subscription: 'flaky', tenant: null, failure_streak: 3, last_status: 500, last_error: 'HTTP 500' });
    expect(verified.tenant).toBeUndefined();
    expect(failing!.headers['x-hookrelay-event']).toBe('hookrelay.subscription.failing');
    const [recovered] = envelopes(ops, 'hookrelay.subscription.recovered');
    expect(recovered!.data).toMatchObject({ subscription: 'flaky', tenant: null });
    expect(recovered!.data.failed_for_ms).toBeGreaterThanOrEqual(0);
    // Once each; the bare `*` of `flaky` got none of them; `ops` got no ordinary event.
    expect(await stored(relay, 'hookrelay.subscription.failing')).toHaveLength(1);
    expect(await stored(relay, 'hookrelay.subscription.recovered')).toHaveLength(1);
    expect(flaky.received.every((q) => !JSON.parse(q.body).type.startsWith('hookrelay.'))).toBe(true);
    expect(ops.received.every((q) => JSON.parse(q.body).type.startsWith('hookrelay.'))).toBe(true);
    const metrics = await (await fetch(`${relay.url}/metrics`)).text();
    expect(metrics).toMatch(/hookrelay_operational_events_total\{type="hookrelay.subscription.failing"\} 1/);
  });

  it('sends disabled for a 410 Gone and for a disable over the API, and for delivery.disable_after', async () => {
    const gone = await startReceiver(answer({ status: 410 }));
    const fine = await startReceiver();
    const down = await startReceiver(answer({ status: 503 }));
    const ops = await startReceiver();
    const relay = await startRelay(
      testConfig({
        auth: admins,
        delivery: { disable_after: '200ms', retry_schedule: Array(50).fill('20ms') },
        subscriptions: [
          { id: 'gone', url: gone.url, events: ['gone.*'], signature: { scheme: 'none' } },
          { id: 'fine', url: fine.url, events: ['fine.*'], signature: { scheme: 'none' } },
          { id: 'down', url: down.url, events: ['down.*'], signature: { scheme: 'none' } },
          opsSubscription(ops.url),
        ],
      }),
    );
    const api = adminClient(() => relay.url, ADMIN_TOKEN);
    await relay.post('/ingest', { type: 'gone.x' });
    await relay.post('/ingest', { type: 'down.x' });
    expect((await api('PATCH', '/subscriptions/fine', { enabled: false })).status).toBe(200);
    await ops.waitFor(hasType('hookrelay.subscription.disabled', 3));

    const bySubscription = Object.fromEntries(envelopes(ops, 'hookrelay.subscription.disabled').map((e) => [e.data.subscription, e.data]));
    expect(bySubscription.gone).toMatchObject({ tenant: null, reason: expect.stringContaining('410') });
    expect(bySubscription.fine).toMatchObject({ tenant: null, reason: expect.stringContaining('admin API') });
    expect(bySubscription.down).toMatchObject({ tenant: null, reason: expect.stringContaining('disable_after') });
    // Disabling one already disabled is no new occurrence.
    expect((await api('PATCH', '/subscriptions/fine', { enabled: false })).status).toBe(200);
    expect(await stored(relay, 'hookrelay.subscription.disabled')).toHaveLength(3);
  });

  it('reports deliveries that failed for good at most once a minute per subscription, counting those held back', async () => {
    let offset = 0;
    const clock = { now: () => Date.now() + offset };
    const doomed = await startReceiver(answer({ status: 500 }));
    const ops = await startReceiver();
    const relay = await startRelay(
      testConfig({
        delivery: { retry_schedule: [] },
        subscriptions: [{ id: 'doomed', url: doomed.url, events: ['job.*'], signature: { scheme: 'none' } }, opsSubscription(ops.url)],
      }),
      { clock },
    );
    const first = (await (await relay.post('/ingest', { type: 'job.one' })).json()) as { id: string };
    await ops.waitFor(hasType('hookrelay.delivery.failed'));
    const [report] = envelopes(ops, 'hookrelay.delivery.failed');
    expect(report!.data).toMatchObject({ subscription: 'doomed', tenant: null, count: 1 });
    expect(report!.data.deliveries).toEqual([
      {
        id: expect.stringMatching(/^dlv_/),
        event_id: first.id,
        event_type: 'job.one',
        attempts: 1,
        last_status: 500,
        last_error: 'HTTP 500',
      },
    ]);

    await relay.post('/ingest', { type: 'job.two' });
    await relay.post('/ingest', { type: 'job.three' });
    await relay.until(
      async () => (await relay.store.listDeliveries({ subscriptionId: 'doomed', status: 'failed', limit: 10 })).data.length === 3,
    );
    // Within the minute: held back.
    expect(await relay.app.checkOperational()).toBe(0);
    expect(await stored(relay, 'hookrelay.delivery.failed')).toHaveLength(1);

    offset += 61_000;
    await relay.app.checkOperational();
    await ops.waitFor(hasType('hookrelay.delivery.failed', 2));
    const second = envelopes(ops, 'hookrelay.delivery.failed')[1]!;
    expect(second.data.count).toBe(2);
    expect((second.data.deliveries as { event_type: string }[]).map((d) => d.event_type).sort()).toEqual(['job.three', 'job.two']);
    expect(await stored(relay, 'hookrelay.delivery.failed')).toHaveLength(2);
  });

  it('sends backlog.delayed once while the oldest waiting delivery is older than alerts.backlog_age', async () => {
    const hanging: ServerResponse[] = [];
    const slow = await startReceiver((_req, res) => new Promise<void>(() => void hanging.push(res)));
    const ops = await startReceiver();
    const relay = await startRelay(
      testConfig({
        alerts: { backlog_age: '100ms' },
        subscriptions: [
          { id: 'slow', url: slow.url, events: ['slow.*'], max_in_flight: 1, timeout: '30s', signature: { scheme: 'none' } },
          opsSubscription(ops.url),
        ],
      }),
    );
    await relay.post('/ingest', { type: 'slow.a' });
    await relay.post('/ingest', { type: 'slow.b' });
    await ops.waitFor(hasType('hookrelay.backlog.delayed'));
    const [delayed] = envelopes(ops, 'hookrelay.backlog.delayed');
    expect(delayed!.data).toMatchObject({ subscription: 'slow', tenant: null, backlog: 1 });
    expect(delayed!.data.oldest_waiting_age_ms).toBeGreaterThanOrEqual(100);
    // Still late at later looks: no second event.
    await relay.app.checkOperational();
    await relay.app.checkOperational();
    expect(await stored(relay, 'hookrelay.backlog.delayed')).toHaveLength(1);
    for (const res of hanging.splice(0)) res.writeHead(200).end();
  });

  it("routes a tenant's operational events to that tenant's own hookrelay.* subscriptions and the platform's only", async () => {
    const platformOps = await startReceiver();
    const acmeOps = await startReceiver();
    const otherOps = await startReceiver();
    const acmeGone = await startReceiver(answer({ status: 410 }));
    const everything = await startReceiver();
    const relay = await startRelay(
      testConfig({
        auth: admins,
        delivery: { retry_schedule: [] },
        tenants: { allowed_networks: ['127.0.0.0/8'] },
        subscriptions: [opsSubscription(platformOps.url), { id: 'everything', url: everything.url, signature: { scheme: 'none' } }],
      }),
    );
    const api = adminClient(() => relay.url, ADMIN_TOKEN);
    for (const t of ['acme', 'other']) expect((await api('PUT', `/tenants/${t}`, {})).status).toBe(201);
    const acmeOpsId = await createTenantSubscription(api, 'acme', acmeOps.url, ['hookrelay.*']);
    await createTenantSubscription(api, 'other', otherOps.url, ['hookrelay.*']);
    const goneId = await createTenantSubscription(api, 'acme', acmeGone.url, ['order.*']);
    await createTenantSubscription(api, 'acme', everything.url, ['*']);

    await relay.post('/ingest', { type: 'order.created', tenant: 'acme' });
    await acmeOps.waitFor(hasType('hookrelay.subscription.disabled'));
    await platformOps.waitFor(hasType('hookrelay.subscription.disabled'));

    const [disabled] = envelopes(acmeOps, 'hookrelay.subscription.disabled');
    expect(disabled).toMatchObject({ tenant: 'acme', data: { subscription: goneId, tenant: 'acme' } });
    expect(acmeOps.received.every((q) => q.headers['x-hookrelay-tenant'] === 'acme')).toBe(true);
    // Each operational event reached the platform's and acme's own subscriptions, never the other tenant's nor a bare `*`.
    for (const type of ['hookrelay.subscription.disabled', 'hookrelay.delivery.failed']) {
      const [event] = await stored(relay, type);
      expect(event!.tenant).toBe('acme');
      const targets = (await relay.store.listDeliveriesOfEvent(event!.id)).map((d) => d.subscriptionId).sort();
      expect(targets).toEqual([acmeOpsId, 'ops'].sort());
    }
    expect(otherOps.received).toHaveLength(0);
    expect(everything.received.every((q) => !JSON.parse(q.body).type.startsWith('hookrelay.'))).toBe(true);
  });

  it("never names a blocked address in a tenant's operational event", async () => {
    const platformOps = await startReceiver();
    const relay = await startRelay(
      testConfig({ auth: admins, delivery: { retry_schedule: [] }, subscriptions: [opsSubscription(platformOps.url)] }),
    );
    const api = adminClient(() => relay.url, ADMIN_TOKEN);
    expect((await api('PUT', '/tenants/acme', {})).status).toBe(201);
    // A name, not a literal address: accepted, then blocked when it resolves to loopback (no tenants.allowed_networks).
    const blockedId = await createTenantSubscription(api, 'acme', 'http://localhost:9/hooks', ['order.*']);
    await relay.post('/ingest', { type: 'order.created', tenant: 'acme' });
    await platformOps.waitFor(hasType('hookrelay.delivery.failed'));
    const [report] = envelopes(platformOps, 'hookrelay.delivery.failed');
    expect(report).toMatchObject({ tenant: 'acme', data: { subscription: blockedId, count: 1 } });
    expect(report!.data.deliveries).toMatchObject([{ last_status: null, last_error: 'blocked: destination not allowed' }]);
    expect(platformOps.received.map((q) => q.body).join()).not.toMatch(/127\.0\.0\.1|::1/);
  });

  it('never emits operational events about failed deliveries of operational events (no loops), though they count for health', async () => {
    const gone = await startReceiver(answer({ status: 410 }));
    const opsDown = await startReceiver(answer({ status: 500 }));
    const relay = await startRelay(
      testConfig({
        alerts: { failing_after: 1 },
        delivery: { retry_schedule: [] },
        subscriptions: [{ id: 'gone', url: gone.url, events: ['x.*'], signature: { scheme: 'none' } }, opsSubscription(opsDown.url)],
      }),
    );
    await relay.post('/ingest', { type: 'x.y' });
    // `gone`'s 410: disabled, failing (streak 1) and delivery.failed, all about `gone`, all failing at `ops`.
    await relay.until(
      async () => (await relay.store.listDeliveries({ subscriptionId: 'ops', status: 'failed', limit: 10 })).data.length === 3,
    );
    await relay.app.checkOperational();
    const operational = (await relay.store.listEvents({ limit: 500 })).data.filter((e) => e.type.startsWith('hookrelay.'));
    expect(operational.map((e) => e.type).sort()).toEqual([
      'hookrelay.delivery.failed',
      'hookrelay.subscription.disabled',
      'hookrelay.subscription.failing',
    ]);
    expect(operational.every((e) => JSON.parse(e.data).subscription === 'gone')).toBe(true);
    const [state] = await relay.store.getSubscriptionStates(['ops']);
    expect(state!.failureStreak).toBe(3);
  });

  it('still refuses hookrelay.* types at /ingest', async () => {
    const relay = await startRelay(testConfig());
    expect((await relay.post('/ingest', { type: 'hookrelay.subscription.failing' })).status).toBe(400);
  });
});

import { describe, expect, it } from 'vitest';
import { adminClient } from './helpers/admin-client';
import { closeAfterEach } from './helpers/lifecycle';
import { testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

const life = closeAfterEach();

function sub(id: string, url: string, extra: Record<string, unknown> = {}) {
  return { id, url, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET }, ...extra };
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A simple parser of the Prometheus text format: one sample per non-comment line. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

/** Sum of the samples named `name` whose labels include `labels`. */
function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

async function scrape(relay: RunningRelay): Promise<Sample[]> {
  const res = await fetch(`${relay.url}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(await res.text());
}

describe('GET /metrics', () => {
  it('counts real traffic: events, attempts by status class, finished deliveries, durations; plus process metrics', async () => {
    const rx = await life.receiver((req, res) => {
      const { data } = JSON.parse(req.body) as { data: { ok: boolean } };
      if (!data.ok) res.writeHead(500).end('no');
    });
    const relay = await life.relay(testConfig({ delivery: { retry_schedule: [] }, subscriptions: [sub('orders', `${rx.url}/hooks`)] }));

    const okCount = 5;
    const failCount = 3;
    const ids: string[] = [];
    for (let i = 0; i < okCount + failCount; i++) {
      const res = await relay.post('/ingest', { type: 'order.created', data: { ok: i < okCount, n: i } });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // A replay by idempotency key is acknowledged too, as `replayed`.
    const first = await relay.post('/ingest', { type: 'order.created', data: { ok: true } }, { 'idempotency-key': 'evt_replay_1' });
    expect(first.status).toBe(202);
    const replay = await relay.post('/ingest', { type: 'order.created', data: { ok: true } }, { 'idempotency-key': 'evt_replay_1' });
    expect(replay.status).toBe(200);
    ids.push('evt_replay_1');

    await relay!.until(async () => {
      const all = await Promise.all(ids.map((id) => relay.store.listDeliveriesOfEvent(id)));
      return all.flat().every((d) => ['succeeded', 'failed'].includes(d.status));
    });

    const m = await scrape(relay);
    const succeeded = okCount + 1;
    expect(sum(m, 'hookrelay_events_ingested_total', { outcome: 'created' })).toBe(okCount + failCount + 1);
    expect(sum(m, 'hookrelay_events_ingested_total', { outcome: 'replayed' })).toBe(1);
    expect(sum(m, 'hookrelay_attempts_total')).toBe(rx.received.length);
    expect(sum(m, 'hookrelay_attempts_total', { subscription: 'orders', status_class: '2xx', outcome: 'succeeded' })).toBe(succeeded);
    expect(sum(m, 'hookrelay_attempts_total', { subscription: 'orders', status_class: '5xx', outcome: 'failed' })).toBe(failCount);
    expect(sum(m, 'hookrelay_attempts_total', { status_class: 'network' })).toBe(0);
    expect(sum(m, 'hookrelay_deliveries_finished_total', { subscription: 'orders', status: 'succeeded' })).toBe(succeeded);
    expect(sum(m, 'hookrelay_deliveries_finished_total', { subscription: 'orders', status: 'failed' })).toBe(failCount);
    expect(sum(m, 'hookrelay_attempt_duration_seconds_count', { subscription: 'orders' })).toBe(succeeded + failCount);
    expect(sum(m, 'hookrelay_attempt_duration_seconds_bucket', { subscription: 'orders', le: '+Inf' })).toBe(succeeded + failCount);
    expect(sum(m, 'hookrelay_attempt_duration_seconds_sum', { subscription: 'orders' })).toBeGreaterThan(0);
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: 'orders' })).toBe(0);
    expect(sum(m, 'hookrelay_oldest_waiting_age_seconds', { subscription: 'orders' })).toBe(0);
    expect(m.some((s) => s.name === 'process_cpu_user_seconds_total' || s.name.startsWith('nodejs_'))).toBe(true);
  });

  it('reports waiting deliveries and the age of the oldest while a receiver hangs', async () => {
    const rx = await life.receiver(() => new Promise<void>(() => {}));
    const relay = await life.relay(
      testConfig({
        delivery: { retry_schedule: [] },
        subscriptions: [sub('stuck', `${rx.url}/hooks`, { max_in_flight: 1, timeout: '30s' })],
      }),
    );
    for (let i = 0; i < 3; i++) expect((await relay.post('/ingest', { type: 'order.created', data: { n: i } })).status).toBe(202);
    await rx.waitFor((r) => r.length === 1);
    await new Promise((r) => setTimeout(r, 50));

    const m = await scrape(relay);
    // One delivery is held by the hanging attempt; the other two wait behind max_in_flight 1.
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: 'stuck' })).toBe(2);
    expect(sum(m, 'hookrelay_oldest_waiting_age_seconds', { subscription: 'stuck' })).toBeGreaterThan(0);
    expect(sum(m, 'hookrelay_attempts_total', { subscription: 'stuck' })).toBe(0);
  });

  it('keeps one registry per app: two relays in one process count separately', async () => {
    const rx = await life.receiver();
    const a = await life.relay(testConfig({ subscriptions: [sub('a', `${rx.url}/a`)] }));
    const b = await life.relay(testConfig({ subscriptions: [sub('b', `${rx.url}/b`)] }));
    expect((await a.post('/ingest', { type: 'x', data: {} })).status).toBe(202);
    await rx.waitFor((r) => r.length === 1);
    await a.until(async () => sum(await scrape(a), 'hookrelay_attempts_total') === 1);
    expect(sum(await scrape(b), 'hookrelay_events_ingested_total')).toBe(0);
    expect(sum(await scrape(b), 'hookrelay_attempts_total')).toBe(0);
  });

  it('labels platform subscriptions by id and counts tenants\' subscriptions as subscription="(tenant)": 50 of them add no series', async () => {
    const OPS = 'ops-token-0123456789';
    const rx = await life.receiver();
    const relay = await life.relay(
      testConfig({
        delivery: { retry_schedule: [] },
        // Tenants' endpoints are held to the blocked ranges: the receivers here are on loopback.
        tenants: { allowed_networks: ['127.0.0.0/8'], max_subscriptions: 100 },
        auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      }),
    );
    const ops = adminClient(() => relay.url, OPS);
    expect((await ops('PUT', '/tenants/acct_1', {})).status).toBe(201);
    expect((await ops('POST', '/subscriptions', { id: 'plat', url: `${rx.url}/p` })).status).toBe(201);
    const tenantSubs: string[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await ops('POST', '/subscriptions', { tenant: 'acct_1', url: `${rx.url}/t${i}` });
      expect(res.status).toBe(201);
      tenantSubs.push(res.body.id);
    }
    expect((await relay.post('/ingest', { type: 'order.created', tenant: 'acct_1', data: {} })).status).toBe(202);
    expect((await relay.post('/ingest', { type: 'order.created', data: {} })).status).toBe(202);
    // Every tenant subscription and the platform one (twice) made an attempt.
    await relay.until(async () => sum(await scrape(relay), 'hookrelay_attempts_total') === 52);

    const m = await scrape(relay);
    const labelled = new Set(m.filter((s) => s.labels.subscription !== undefined).map((s) => s.labels.subscription));
    expect([...labelled].sort()).toEqual(['(tenant)', 'plat']);
    expect(m.some((s) => Object.values(s.labels).some((v) => tenantSubs.includes(v)))).toBe(false);
    expect(sum(m, 'hookrelay_attempts_total', { subscription: 'plat' })).toBe(2);
    expect(sum(m, 'hookrelay_attempts_total', { subscription: '(tenant)' })).toBe(50);
    expect(sum(m, 'hookrelay_deliveries_finished_total', { subscription: '(tenant)' })).toBe(50);
    expect(sum(m, 'hookrelay_attempt_duration_seconds_count', { subscription: '(tenant)' })).toBe(50);
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: '(tenant)' })).toBe(0);
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: 'plat' })).toBe(0);
  });

  it("sums tenants' waiting deliveries into one series, with the age of the oldest of them", async () => {
    const OPS = 'ops-token-0123456789';
    const rx = await life.receiver(() => new Promise<void>(() => {}));
    const relay = await life.relay(
      testConfig({
        delivery: { retry_schedule: [] },
        // Tenants' endpoints are held to the blocked ranges: the receivers here are on loopback.
        tenants: { allowed_networks: ['127.0.0.0/8'] },
        auth: { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] },
      }),
    );
    const ops = adminClient(() => relay.url, OPS);
    expect((await ops('PUT', '/tenants/acct_1', {})).status).toBe(201);
    expect((await ops('PUT', '/tenants/acct_2', {})).status).toBe(201);
    const hanging = { max_in_flight: 1, timeout: '30s' };
    expect((await ops('POST', '/subscriptions', { id: 'stuck', url: `${rx.url}/p`, ...hanging })).status).toBe(201);
    const tenantSubs: string[] = [];
    for (const tenant of ['acct_1', 'acct_1', 'acct_2']) {
      const res = await ops('POST', '/subscriptions', { tenant, url: `${rx.url}/${tenant}`, ...hanging });
      expect(res.status).toBe(201);
      tenantSubs.push(res.body.id);
    }
    // Two events per tenant subscription's tenant and two platform ones: each subscription holds one, one waits.
    for (const tenant of ['acct_1', 'acct_1', 'acct_2', 'acct_2']) {
      expect((await relay.post('/ingest', { type: 'order.created', tenant, data: {} })).status).toBe(202);
    }
    // The platform subscription gets the tenants' events too: 4 for it, 1 held.
    await rx.waitFor((r) => r.length === 4);
    await new Promise((r) => setTimeout(r, 50));

    const m = await scrape(relay);
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: '(tenant)' })).toBe(3);
    expect(sum(m, 'hookrelay_oldest_waiting_age_seconds', { subscription: '(tenant)' })).toBeGreaterThan(0);
    expect(sum(m, 'hookrelay_deliveries_waiting', { subscription: 'stuck' })).toBe(3);
    expect(m.some((s) => Object.values(s.labels).some((v) => tenantSubs.includes(v)))).toBe(false);
    expect(
      m
        .filter((s) => s.name === 'hookrelay_deliveries_waiting')
        .map((s) => s.labels.subscription)
        .sort(),
    ).toEqual(['(tenant)', 'stuck']);
  });
});

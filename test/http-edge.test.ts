import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/schema';
import { captureLogs } from './helpers/log-capture';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

// Small promises of the HTTP edge and operations from the security review (issue 15, low items).

const OPS = 'ops-token-for-edge-tests';
const admin = { admin_tokens: [{ name: 'ops', token: OPS, scopes: ['read', 'write'] }] };
const auth = { authorization: `Bearer ${OPS}` };

let relay: RunningRelay | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await relay?.stop();
  await receiver?.close();
  relay = undefined;
  receiver = undefined;
});

describe('methods', () => {
  it('answers 405 with Allow for a wrong method on a known route, 404 for an unknown route', async () => {
    relay = await startRelay(testConfig({ auth: admin }));
    const ingest = await fetch(`${relay.url}/ingest`, { method: 'DELETE' });
    expect(ingest.status).toBe(405);
    expect(ingest.headers.get('allow')).toBe('POST');
    expect(ingest.headers.get('content-type')).toBe('application/problem+json');
    const one = await fetch(`${relay.url}/api/v1/subscriptions/abc`, { method: 'POST', headers: auth });
    expect(one.status).toBe(405);
    expect(one.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    expect((await fetch(`${relay.url}/nowhere`)).status).toBe(404);
  });
});

describe('logs', () => {
  it('write the level as a word', async () => {
    const logs = captureLogs('info');
    receiver = await startReceiver();
    relay = await startRelay(
      testConfig({
        subscriptions: [{ id: 's', url: `${receiver.url}/s`, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET } }],
      }),
      { logger: logs.logger },
    );
    expect((await relay.post('/ingest', { type: 'a' })).status).toBe(202);
    await receiver.waitFor((r) => r.length === 1);
    await relay.until(async () => logs.entries().some((e) => e.msg === 'attempt succeeded'));
    const line = logs.lines.find((l) => l.includes('attempt succeeded'))!;
    expect(line).toContain('"level":"info"');
  });
});

describe('reload', () => {
  it('applies server.cors_origins', async () => {
    let next: Config | undefined;
    const config = testConfig({ auth: admin });
    relay = await startRelay(config, { loadConfig: () => next ?? config });
    const preflight = () =>
      fetch(`${relay!.url}/api/v1/stats`, {
        method: 'OPTIONS',
        headers: { origin: 'https://ops.example', 'access-control-request-method': 'GET' },
      });
    expect((await preflight()).headers.get('access-control-allow-origin')).toBeNull();
    next = { ...config, server: { ...config.server, cors_origins: ['https://ops.example'] } };
    expect((await fetch(`${relay.url}/api/v1/reload`, { method: 'POST', headers: auth })).status).toBe(200);
    expect((await preflight()).headers.get('access-control-allow-origin')).toBe('https://ops.example');
  });
});

describe('batch ingest', () => {
  it('says so when one id appears twice in a batch with different content, and stores nothing', async () => {
    relay = await startRelay(testConfig());
    const res = await relay.post('/ingest/batch', {
      events: [
        { id: 'evt_twice', type: 'a', data: { n: 1 } },
        { id: 'evt_twice', type: 'a', data: { n: 2 } },
      ],
    });
    expect(res.status).toBe(409);
    expect(((await res.json()) as { detail: string }).detail).toBe(
      'event id evt_twice appears twice in this batch with different type or data; nothing was stored',
    );
    expect(await relay.store.getEvent('evt_twice')).toBeNull();
    const same = await relay.post('/ingest/batch', {
      events: [
        { id: 'evt_same', type: 'a' },
        { id: 'evt_same', type: 'a' },
      ],
    });
    expect(same.status).toBe(202);
  });
});

describe('metrics', () => {
  const scrape = async () => (await fetch(`${relay!.url}/metrics`)).text();

  it('pass the naming rules promtool checks, say which build runs, and count refused ingest requests by status', async () => {
    relay = await startRelay(testConfig({ auth: { ingest_tokens: ['an-ingest-token-for-metrics'] } }));
    expect((await relay.post('/ingest', { type: 'a' })).status).toBe(401);
    expect(
      (await relay.post('/ingest', 'x', { authorization: 'Bearer an-ingest-token-for-metrics', 'content-type': 'text/plain' })).status,
    ).toBe(415);
    const text = await scrape();
    const gauges = [...text.matchAll(/^# TYPE (\S+) gauge$/gm)].map((m) => m[1]!);
    expect(gauges.length).toBeGreaterThan(5);
    expect(gauges.filter((name) => name.endsWith('_total'))).toEqual([]);
    expect(text).toMatch(/^hookrelay_build_info\{version="\d+\.\d+\.\d+",node="v\d+[^"]*"\} 1$/m);
    expect(text).toMatch(/^hookrelay_ingest_refused_total\{status="401"\} 1$/m);
    expect(text).toMatch(/^hookrelay_ingest_refused_total\{status="415"\} 1$/m);
  });

  it('drop the waiting series of a deleted subscription', async () => {
    receiver = await startReceiver(() => new Promise(() => {}));
    relay = await startRelay(testConfig({ auth: admin, delivery: { timeout: '5s' } }));
    const create = await fetch(`${relay.url}/api/v1/subscriptions`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'short-lived', url: `${receiver.url}/x` }),
    });
    expect(create.status).toBe(201);
    expect((await relay.post('/ingest', { type: 'a' })).status).toBe(202);
    expect((await relay.post('/ingest', { type: 'a' })).status).toBe(202);
    expect(await scrape()).toMatch(/^hookrelay_deliveries_waiting\{subscription="short-lived"\} \d+$/m);
    expect((await fetch(`${relay.url}/api/v1/subscriptions/short-lived`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect(await scrape()).not.toContain('subscription="short-lived"');
  });
});

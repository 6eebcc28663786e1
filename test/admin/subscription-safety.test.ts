import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/schema';
import { adminClient, type AdminAnswer } from '../helpers/admin-client';
import { closeAfterEach } from '../helpers/lifecycle';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, TEST_SECRET, type RunningRelay } from '../helpers/relay';

// SPEC 13 over the admin API, end to end: custom header values are redacted in views and attempt
// records unless `delivery.visible_headers` names them; Host, framing and hop-by-hop headers and
// control characters are refused (400 with the path); URLs are stored normalised; one
// subscription's sizes are bounded, each limit accepted exactly and refused one over.

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: VIEWER, scopes: ['read'] },
];
const signature = { scheme: 'standard-webhooks', secret: TEST_SECRET };

/** Header names that carried credentials in clear past the old denylist, with their values. */
const CREDENTIALS: Record<string, string> = {
  apikey: 'cred-apikey-1',
  'X-Functions-Key': 'cred-functions-2',
  'Ocp-Apim-Subscription-Key': 'cred-apim-3',
  'X-Auth-Key': 'cred-auth-4',
  Authentication: 'cred-authentication-5',
  'X-Webhook-Key': 'cred-webhook-6',
};

const paths = (answer: AdminAnswer) => ((answer.body?.errors ?? []) as { path: string }[]).map((e) => e.path).sort();

describe('custom header values', () => {
  const life = closeAfterEach();
  let relay: RunningRelay;
  const ops = adminClient(() => relay.url, OPS);
  const viewer = adminClient(() => relay.url, VIEWER);

  /** The attempt log of the test delivery sent to `id`, read with the read-only token. */
  async function testAttempt(id: string) {
    const sent = await ops('POST', `/subscriptions/${id}/test`);
    expect(sent.status).toBe(202);
    return relay.until(async () => {
      const detail = await viewer('GET', `/deliveries/${sent.body.delivery_id}`);
      return detail.body.attempt_log.length > 0 && detail;
    });
  }

  it('are [redacted] in views and attempt records, whatever their name; the receiver gets the real values', async () => {
    const rx = await life.receiver();
    const headers = { ...CREDENTIALS, 'X-Env': 'prod', 'User-Agent': 'custom-agent' };
    const hmac = { scheme: 'hmac-sha256', secret: 'hmac-secret-value', header: 'X-Signature', prefix: 'sha256=' };
    relay = await life.relay(
      testConfig({
        auth: { admin_tokens: adminTokens },
        subscriptions: [
          { id: 'cfg', url: `${rx.url}/cfg`, headers, signature },
          { id: 'signed', url: `${rx.url}/signed`, headers: { 'X-Env': 'prod' }, signature: hmac },
        ],
      }),
    );
    const created = await ops('POST', '/subscriptions', { id: 'api', url: `${rx.url}/api`, headers });
    expect(created.status, created.text).toBe(201);

    const redacted = Object.fromEntries(Object.keys(headers).map((name) => [name, '[redacted]']));
    for (const view of [created, await viewer('GET', '/subscriptions/cfg'), await viewer('GET', '/subscriptions/api')]) {
      expect(view.body.headers).toEqual(redacted);
      for (const value of Object.values(headers)) expect(view.text).not.toContain(value);
    }
    const list = await viewer('GET', '/subscriptions');
    for (const value of Object.values(headers)) expect(list.text).not.toContain(value);

    for (const id of ['cfg', 'api']) {
      const detail = await testAttempt(id);
      const recorded: Record<string, string> = detail.body.attempt_log[0].request.headers;
      for (const name of [...Object.keys(CREDENTIALS), 'X-Env']) expect(recorded[name.toLowerCase()], name).toBe('[redacted]');
      for (const value of Object.values(headers)) expect(detail.text).not.toContain(value);
      // The relay's own headers stay as sent, including one a custom header tried to replace.
      const sent = rx.received.find((r) => r.path === `/${id}`)!;
      for (const name of ['content-type', 'user-agent', 'webhook-id', 'webhook-timestamp', 'webhook-signature']) {
        expect(recorded[name], name).toBe(sent.headers[name]);
      }
      for (const suffix of ['event', 'delivery', 'attempt'])
        expect(recorded[`x-hookrelay-${suffix}`]).toBe(sent.headers[`x-hookrelay-${suffix}`]);
      expect(recorded['user-agent']).toMatch(/^hookrelay\//);
      // The receiver gets the real values.
      for (const [name, value] of Object.entries(CREDENTIALS)) expect(sent.headers[name.toLowerCase()]).toBe(value);
      expect(sent.headers['x-env']).toBe('prod');
    }

    // A scheme's own signature header is the relay's: visible.
    const signed = await testAttempt('signed');
    const recorded = signed.body.attempt_log[0].request.headers;
    expect(recorded['x-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(recorded['x-env']).toBe('[redacted]');
  });

  it('are shown for the names delivery.visible_headers lists (case-insensitive), and a reload applies a change', async () => {
    const rx = await life.receiver();
    const config = testConfig({
      auth: { admin_tokens: adminTokens },
      delivery: { visible_headers: ['x-env'] },
      subscriptions: [{ id: 'cfg', url: `${rx.url}/cfg`, headers: { ...CREDENTIALS, 'X-Env': 'prod' }, signature }],
    });
    let next: Config = config;
    relay = await life.relay(config, { loadConfig: () => next });

    const view = await viewer('GET', '/subscriptions/cfg');
    expect(view.body.headers).toMatchObject({ 'X-Env': 'prod', 'X-Auth-Key': '[redacted]', apikey: '[redacted]' });
    const first = (await testAttempt('cfg')).body.attempt_log[0].request.headers;
    expect(first).toMatchObject({ 'x-env': 'prod', 'x-auth-key': '[redacted]', apikey: '[redacted]' });

    next = { ...config, delivery: { ...config.delivery, visible_headers: ['X-AUTH-KEY'] } };
    expect((await ops('POST', '/reload')).status).toBe(200);
    expect((await viewer('GET', '/subscriptions/cfg')).body.headers).toMatchObject({ 'X-Env': '[redacted]', 'X-Auth-Key': 'cred-auth-4' });
    const second = (await testAttempt('cfg')).body.attempt_log[0].request.headers;
    expect(second).toMatchObject({ 'x-env': '[redacted]', 'x-auth-key': 'cred-auth-4', apikey: '[redacted]' });
  });
});

describe('subscription definitions over the API', () => {
  let relay: RunningRelay;
  let rx: Receiver;
  const ops = adminClient(() => relay.url, OPS);
  let n = 0;
  /** POSTs a subscription with a fresh id and the given fields. */
  const create = (fields: Record<string, unknown>) => ops('POST', '/subscriptions', { id: `s${++n}`, url: `${rx.url}/s`, ...fields });

  beforeAll(async () => {
    rx = await startReceiver();
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
  });
  afterAll(async () => {
    await relay.stop();
    await rx.close();
  });

  describe('headers', () => {
    const refused = [
      'Host',
      'host',
      'Content-Length',
      'Transfer-Encoding',
      'Expect',
      'Connection',
      'Upgrade',
      'TE',
      'Keep-Alive',
      'Proxy-Authorization',
      'Proxy-Connection',
    ];

    it.each(refused)('refuses %s with 400 on headers.<name>, on create and on change', async (name) => {
      const res = await create({ headers: { 'X-Env': 'prod', [name]: 'x' } });
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.errors).toEqual([{ path: `headers.${name}`, message: expect.stringContaining('may not be set by a subscription') }]);

      const ok = await create({ headers: { 'X-Env': 'prod' } });
      expect(ok.status).toBe(201);
      const patched = await ops('PATCH', `/subscriptions/${ok.body.id}`, { headers: { [name]: 'x' } });
      expect(patched.status).toBe(400);
      expect(paths(patched)).toEqual([`headers.${name}`]);
    });

    it.each([
      ['CR', 'a\rb'],
      ['LF', 'a\nb'],
      ['CRLF', 'a\r\nX-Injected: yes'],
      // Refused before the subscription's own rules, as in every field of the API.
      ['NUL', 'a\u0000b', 'must not contain the NUL character (\\u0000)'],
      ['tab', 'a\tb'],
      ['DEL', 'a\u007fb'],
    ])('refuses a value with %s', async (_, value, message = 'must not contain control characters (CR, LF, NUL, tab, DEL…)') => {
      const res = await create({ headers: { 'X-Env': value } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: 'headers.X-Env', message }]);
    });

    it('refuses names that are not tokens', async () => {
      const res = await create({ headers: { 'X Env': 'a', 'X:Env': 'b', 'X-Ok': 'c' } });
      expect(res.status).toBe(400);
      expect(paths(res)).toEqual(['headers.X Env', 'headers.X:Env']);
    });

    it('accepted ones reach the receiver', async () => {
      const res = await create({ url: `${rx.url}/fine`, headers: { 'X-Env': 'café' }, signature: { scheme: 'none' } });
      expect(res.status).toBe(201);
      expect((await ops('POST', `/subscriptions/${res.body.id}/test`)).status).toBe(202);
      await rx.waitFor((r) => r.some((x) => x.path === '/fine'));
      expect(rx.received.find((x) => x.path === '/fine')!.headers['x-env']).toBe('café');
    });
  });

  describe('URLs', () => {
    it('are stored and shown in their normal form, on create and on change', async () => {
      const res = await create({ url: 'HTTP://Example.COM:80/a/../b' });
      expect(res.status, res.text).toBe(201);
      expect(res.body.url).toBe('http://example.com/b');
      const id = res.body.id as string;
      expect((await ops('GET', `/subscriptions/${id}`)).body.url).toBe('http://example.com/b');
      expect((await relay.store.getApiSubscription(id))!.spec.url).toBe('http://example.com/b');

      const patched = await ops('PATCH', `/subscriptions/${id}`, { url: 'https://Example.COM:443/x/./y/../z?q=1' });
      expect(patched.status).toBe(200);
      expect(patched.body.url).toBe('https://example.com/x/z?q=1');
      expect((await relay.store.getApiSubscription(id))!.spec.url).toBe('https://example.com/x/z?q=1');
    });
  });

  describe('size limits (each accepted at the limit, refused one over with its path)', () => {
    const OVER_30D = `${30 * 86_400_000 + 1}ms`;
    const range = (count: number) => Array.from({ length: count }, (_, i) => i);
    const expectRefused = async (fields: Record<string, unknown>, path: string) => {
      const res = await create(fields);
      expect(res.status, res.text).toBe(400);
      expect(paths(res)).toEqual([path]);
      return res;
    };
    const expectAccepted = async (fields: Record<string, unknown>) => {
      const res = await create(fields);
      expect(res.status, res.text).toBe(201);
      return res;
    };

    it('at most 100 event patterns', async () => {
      await expectAccepted({ events: range(100).map((i) => `e${i}.*`) });
      const res = await expectRefused({ events: range(101).map((i) => `e${i}.*`) }, 'events');
      expect(res.body.errors[0].message).toBe('must list at most 100 event patterns');
    });

    it('at most 50 headers, each value at most 8192 characters', async () => {
      await expectAccepted({ headers: Object.fromEntries(range(50).map((i) => [`X-H${i}`, 'v'])) });
      await expectRefused({ headers: Object.fromEntries(range(51).map((i) => [`X-H${i}`, 'v'])) }, 'headers');
      await expectAccepted({ headers: { 'X-Big': 'v'.repeat(8192) } });
      await expectRefused({ headers: { 'X-Big': 'v'.repeat(8193) } }, 'headers.X-Big');
    });

    it('at most 30 retry delays, each at most 30 days', async () => {
      await expectAccepted({ retry_schedule: range(30).map(() => '30d') });
      await expectRefused({ retry_schedule: range(31).map(() => '1s') }, 'retry_schedule');
      await expectRefused({ retry_schedule: ['1s', OVER_30D] }, 'retry_schedule[1]');
    });

    it('a timeout of at most 30 days', async () => {
      await expectAccepted({ timeout: '30d' });
      await expectRefused({ timeout: OVER_30D }, 'timeout');
    });

    it('keep_old_for of at most 30 days', async () => {
      const { body } = await expectAccepted({});
      expect((await ops('POST', `/subscriptions/${body.id}/rotate-secret`, { keep_old_for: '30d' })).status).toBe(200);
      const over = await ops('POST', `/subscriptions/${body.id}/rotate-secret`, { keep_old_for: OVER_30D });
      expect(over.status).toBe(400);
      expect(paths(over)).toEqual(['keep_old_for']);
    });

    it('a URL of at most 2048 characters', async () => {
      const base = `${rx.url}/`;
      await expectAccepted({ url: base + 'a'.repeat(2048 - base.length) });
      await expectRefused({ url: base + 'a'.repeat(2049 - base.length) }, 'url');
    });

    it('a description of at most 1024 characters', async () => {
      await expectAccepted({ description: 'd'.repeat(1024) });
      await expectRefused({ description: 'd'.repeat(1025) }, 'description');
    });

    it('a filter of at most 16kb as JSON', async () => {
      // {"data.k":"…"} is 13 bytes around the value.
      await expectAccepted({ filter: { 'data.k': 'f'.repeat(16_384 - 13) } });
      await expectRefused({ filter: { 'data.k': 'f'.repeat(16_385 - 13) } }, 'filter');
    });

    describe('a body of at most 64kb', () => {
      /** JSON of a valid subscription, padded with trailing spaces (still JSON) to exactly `bytes`. */
      const bodyOf = (bytes: number) => {
        const text = JSON.stringify({ id: `s${++n}`, url: `${rx.url}/s` });
        return text + ' '.repeat(bytes - text.length);
      };
      const post = (body: BodyInit, extra: RequestInit = {}) =>
        fetch(`${relay.url}/api/v1/subscriptions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
          body,
          ...extra,
        });
      /** The same body sent chunked: no Content-Length, so the limit counts the bytes received. */
      const chunked = (text: string) =>
        post(
          new ReadableStream({
            start(controller) {
              for (let i = 0; i < text.length; i += 8192) controller.enqueue(new TextEncoder().encode(text.slice(i, i + 8192)));
              controller.close();
            },
          }),
          { duplex: 'half' } as RequestInit,
        );

      it('on create, with a Content-Length or chunked', async () => {
        expect((await post(bodyOf(65_536))).status).toBe(201);
        const over = await post(bodyOf(65_537));
        expect(over.status).toBe(413);
        expect(over.headers.get('content-type')).toContain('application/problem+json');
        expect(((await over.json()) as { detail: string }).detail).toBe('a subscription body may be at most 64kb (65536 bytes)');
        expect((await chunked(bodyOf(65_536))).status).toBe(201);
        expect((await chunked(bodyOf(65_537))).status).toBe(413);
      });

      it('on change', async () => {
        const { body } = await expectAccepted({});
        const patch = (bytes: number) => {
          const text = JSON.stringify({ description: 'x' });
          return fetch(`${relay.url}/api/v1/subscriptions/${body.id}`, {
            method: 'PATCH',
            headers: { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
            body: text + ' '.repeat(bytes - text.length),
          });
        };
        expect((await patch(65_536)).status).toBe(200);
        expect((await patch(65_537)).status).toBe(413);
      });
    });
  });
});

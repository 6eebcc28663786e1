import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, type AdminAnswer } from '../helpers/admin-client';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startRelay, testConfig, type RunningRelay } from '../helpers/relay';

// SPEC 13 over the admin API, end to end: Host, framing and hop-by-hop headers and control
// characters are refused (400 with the path); URLs are stored normalised.

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: VIEWER, scopes: ['read'] },
];

const paths = (answer: AdminAnswer) => ((answer.body?.errors ?? []) as { path: string }[]).map((e) => e.path).sort();

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
      ['NUL', 'a\u0000b'],
      ['tab', 'a\tb'],
      ['DEL', 'a\u007fb'],
    ])('refuses a value with %s', async (_, value) => {
      const res = await create({ headers: { 'X-Env': value } });
      expect(res.status).toBe(400);
      expect(res.body.errors).toEqual([{ path: 'headers.X-Env', message: 'must not contain control characters (CR, LF, NUL, tab, DEL…)' }]);
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
});

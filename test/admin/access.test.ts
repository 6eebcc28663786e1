import { Validator } from '@seriousme/openapi-schema-validator';
import { afterEach, describe, expect, it } from 'vitest';
import { startRelay, testConfig, type RunningRelay } from '../helpers/relay';

const OPS = 'ops-token-0123456789';
const VIEWER = 'viewer-token-0123456789';
const adminTokens = [
  { name: 'ops', token: OPS, scopes: ['read', 'write'] },
  { name: 'viewer', token: VIEWER, scopes: ['read'] },
];

let relay: RunningRelay | undefined;
afterEach(async () => {
  await relay?.stop();
  relay = undefined;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function call(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<Response> {
  return fetch(`${relay!.url}${path}`, {
    method,
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Every route of SPEC 8 with its method, in the OpenAPI document's path syntax. */
const SPEC_ROUTES: [string, string][] = [
  ['get', '/subscriptions'],
  ['post', '/subscriptions'],
  ['get', '/subscriptions/{id}'],
  ['patch', '/subscriptions/{id}'],
  ['delete', '/subscriptions/{id}'],
  ['post', '/subscriptions/{id}/rotate-secret'],
  ['post', '/subscriptions/{id}/test'],
  ['post', '/subscriptions/{id}/recover'],
  ['get', '/events'],
  ['get', '/events/{id}'],
  ['post', '/events/{id}/replay'],
  ['get', '/deliveries'],
  ['get', '/deliveries/{id}'],
  ['post', '/deliveries/{id}/retry'],
  ['post', '/deliveries/{id}/cancel'],
  ['get', '/stats'],
  ['post', '/reload'],
  ['post', '/backup'],
];
const concrete = (path: string) => `/api/v1${path.replace('{id}', 'x1')}`;

async function expectProblem(res: Response, status: number): Promise<Json> {
  expect(res.status, `${res.url}`).toBe(status);
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  const body = (await res.json()) as Json;
  expect(body).toMatchObject({ status, type: expect.any(String), title: expect.any(String) });
  return body;
}

describe('admin authentication and scopes', () => {
  it('answers 401 without a token or with a wrong one, on every route', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    for (const [method, path] of [
      ...SPEC_ROUTES,
      ['get', '/audit'] as [string, string],
      ['get', '/whoami'] as [string, string],
      ['get', '/openapi.json'] as [string, string],
    ]) {
      const missing = await call(method.toUpperCase(), concrete(path));
      expect((await expectProblem(missing, 401)).detail, path).toBe('missing bearer token');
      expect(missing.headers.get('www-authenticate')).toBe('Bearer realm="admin"');
      const wrong = await call(method.toUpperCase(), concrete(path), bearer('not-a-token-at-all'));
      expect((await expectProblem(wrong, 401)).detail).toBe('invalid admin token');
    }
  });

  it('tells a token its own name and scopes at GET /whoami', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    expect(await (await call('GET', '/api/v1/whoami', bearer(OPS))).json()).toEqual({ name: 'ops', scopes: ['read', 'write'] });
    expect(await (await call('GET', '/api/v1/whoami', bearer(VIEWER))).json()).toEqual({ name: 'viewer', scopes: ['read'] });
  });

  it('answers 403 to a read-only token on every write route, and nothing changes', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const event = (await (await relay.post('/ingest', { type: 'a.b' })).json()) as { id: string };
    const writes = SPEC_ROUTES.filter(([m]) => m !== 'get');
    expect(writes).toHaveLength(11);
    for (const [method, path] of writes) {
      const url = `/api/v1${path.replace('{id}', path.startsWith('/events') ? event.id : 'x1')}`;
      const res = await call(method.toUpperCase(), url, bearer(VIEWER), {});
      expect((await expectProblem(res, 403)).detail, `${method} ${path}`).toBe("token 'viewer' lacks the 'write' scope");
    }
    for (const path of ['/events', '/deliveries', '/stats', '/audit', `/events/${event.id}`]) {
      expect((await call('GET', `/api/v1${path}`, bearer(VIEWER))).status, path).toBe(200);
    }
    expect(((await (await call('GET', '/api/v1/audit', bearer(OPS))).json()) as Json).data).toEqual([]);
  });
});

describe('query validation', () => {
  it('answers 400 listing the path of every invalid parameter', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const errorsOf = async (path: string) => {
      const body = await expectProblem(await call('GET', `/api/v1${path}`, bearer(VIEWER)), 400);
      return (body.errors as { path: string; message: string }[]).map((e) => e.path).sort();
    };
    expect(await errorsOf('/events?limit=0')).toEqual(['limit']);
    expect(await errorsOf('/events?limit=501')).toEqual(['limit']);
    expect(await errorsOf('/events?limit=ten')).toEqual(['limit']);
    expect(await errorsOf('/events?since=yesterday')).toEqual(['since']);
    expect(await errorsOf('/events?until=2026-13-45T00:00:00Z')).toEqual(['until']);
    expect(await errorsOf('/deliveries?status=bogus')).toEqual(['status']);
    expect(await errorsOf('/deliveries?limit=0&status=bogus&since=yesterday&until=nope')).toEqual(['limit', 'since', 'status', 'until']);
    expect(await errorsOf('/audit?limit=-1')).toEqual(['limit']);
    const since = await expectProblem(await call('GET', '/api/v1/events?since=yesterday', bearer(VIEWER)), 400);
    expect(since.errors[0].message).toBe('expected an ISO 8601 time like 2026-11-23T10:00:00Z');
    expect((await call('GET', '/api/v1/events?limit=500&since=2026-11-23T10:00:00%2B01:00', bearer(VIEWER))).status).toBe(200);
  });
});

describe('GET /api/v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document describing every SPEC 8 route', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const res = await call('GET', '/api/v1/openapi.json', bearer(VIEWER));
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Json;
    expect(doc.openapi).toBe('3.1.0');
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);

    const described = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map((m) => `${m} ${path}`),
    );
    for (const [method, path] of SPEC_ROUTES) expect(described, 'the document describes every SPEC 8 route').toContain(`${method} ${path}`);
    expect(described).toContain('get /audit');

    // Clients are generated from it: every operation has its own operationId.
    const ids = Object.values(doc.paths as Record<string, Record<string, Json>>).flatMap((item) =>
      Object.entries(item)
        .filter(([k]) => ['get', 'post', 'put', 'patch', 'delete'].includes(k))
        .map(([, op]) => op.operationId),
    );
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    // Producers too: the ingest routes, served at the root.
    for (const path of ['/ingest', '/ingest/batch']) {
      expect(doc.paths[path].servers).toEqual([expect.objectContaining({ url: '/' })]);
      expect(Object.keys(doc.paths[path].post.responses)).toEqual(
        expect.arrayContaining(['202', '200', '400', '401', '409', '413', '415', '429', '503']),
      );
    }
    expect(doc.paths['/ingest'].post.requestBody.content['application/json'].schema).toBeDefined();
    expect(Object.keys(doc.paths['/whoami'].get.responses).sort()).toEqual(['200', '401', '403', '429']);
  });

  it('describes the parameters, bodies, answers and errors of the event, delivery and operation routes', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const doc = (await (await call('GET', '/api/v1/openapi.json', bearer(VIEWER))).json()) as Json;
    const op = (method: string, path: string) => doc.paths[path][method];
    const mine = SPEC_ROUTES.filter(([, p]) => !p.startsWith('/subscriptions')).concat([['get', '/audit']]);
    for (const [method, path] of mine) {
      const o = op(method, path);
      const success = o.responses['200'] ?? o.responses['202'];
      expect(success?.content?.['application/json']?.schema, `${method} ${path}`).toBeDefined();
      for (const status of ['400', '401', '403', '429'])
        expect(o.responses[status]?.content?.['application/problem+json'], `${path} ${status}`).toBeDefined();
    }
    for (const [method, path] of SPEC_ROUTES.filter(([, p]) => p.includes('{id}') && !p.startsWith('/subscriptions'))) {
      expect(op(method, path).responses['404'], path).toBeDefined();
      expect(op(method, path).parameters.map((p: Json) => [p.in, p.name])).toContainEqual(['path', 'id']);
    }
    expect(op('post', '/deliveries/{id}/retry').responses['409']).toBeDefined();
    expect(op('post', '/deliveries/{id}/cancel').responses['409']).toBeDefined();
    expect(op('post', '/reload').responses['409']).toBeDefined();
    expect(op('post', '/backup').requestBody.content['application/json'].schema).toBeDefined();
    expect(op('post', '/events/{id}/replay').requestBody.required).toBe(false);
    const names = (method: string, path: string) =>
      op(method, path)
        .parameters.map((p: Json) => p.name)
        .sort();
    // tenant: SPEC 8, lists by tenant (SPEC 9).
    expect(names('get', '/events')).toEqual(['cursor', 'limit', 'since', 'tenant', 'type', 'until']);
    expect(names('get', '/deliveries')).toEqual(['cursor', 'event_type', 'limit', 'since', 'status', 'subscription', 'tenant', 'until']);
    const status = op('get', '/deliveries').parameters.find((p: Json) => p.name === 'status');
    expect(status.schema.enum).toEqual(['pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled']);
    expect(op('get', '/audit').description).toMatch(/addition/);
  });
});

describe('rate limits', () => {
  it('admin: per token, 429 with Retry-After after the burst', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens, rate_limit: { admin: '3/m' } } }));
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/v1/stats', bearer(OPS))).status).toBe(200);
    const limited = await call('GET', '/api/v1/stats', bearer(OPS));
    await expectProblem(limited, 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(20);
    expect((await call('GET', '/api/v1/stats', bearer(VIEWER))).status).toBe(200); // another token, another bucket
  });

  it('ingest: per ingest token, 429 with Retry-After after the burst; nothing stored for the refused one', async () => {
    relay = await startRelay(
      testConfig({
        auth: { admin_tokens: adminTokens, ingest_tokens: ['ingest-one-123456', 'ingest-two-123456'], rate_limit: { ingest: '3/m' } },
      }),
    );
    const one = bearer('ingest-one-123456');
    for (let i = 0; i < 3; i++) expect((await relay.post('/ingest', { type: 'a.b' }, one)).status).toBe(202);
    const limited = await relay.post('/ingest', { type: 'a.b', id: 'evt_refused' }, one);
    await expectProblem(limited, 429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await relay.store.getEvent('evt_refused')).toBeNull();
    expect((await relay.post('/ingest/batch', { events: [{ type: 'a.b' }] }, one)).status).toBe(429);
    expect((await relay.post('/ingest', { type: 'a.b' }, bearer('ingest-two-123456'))).status).toBe(202);
    expect((await relay.post('/ingest', { type: 'a.b' }, bearer('wrong-token-123456'))).status).toBe(401); // auth first
  });

  it('ingest without tokens shares one bucket', async () => {
    relay = await startRelay(testConfig({ auth: { rate_limit: { ingest: '2/m' } } }));
    expect((await relay.post('/ingest', { type: 'a.b' })).status).toBe(202);
    expect((await relay.post('/ingest', { type: 'a.b' }, bearer('anything'))).status).toBe(202);
    expect((await relay.post('/ingest', { type: 'a.b' })).status).toBe(429);
  });
});

describe('request bodies', () => {
  it('answers 400 to malformed JSON and 415 to a body that is not JSON, as problem+json', async () => {
    relay = await startRelay(testConfig({ auth: { admin_tokens: adminTokens } }));
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${relay!.url}/api/v1/backup`, { method: 'POST', headers: { ...bearer(OPS), ...headers }, body });
    await expectProblem(await post({ 'content-type': 'application/json' }, '{"path": '), 400);
    await expectProblem(await post({ 'content-type': 'text/plain' }, 'path=/tmp/x.db'), 415);
  });
});

import { randomBytes } from 'node:crypto';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH } from '../src/http/body';
import { quoteIdent } from '../src/store/postgres/connect';
import { startReceiver, type Receiver } from './helpers/receiver';
import { startRelay, tempDir, testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';

// Property tests (issue 6): random and malformed bodies, headers, query strings and path ids thrown
// at /ingest and every admin route. Whatever arrives: never a 5xx, the relay keeps serving, and
// every 4xx is application/problem+json whose `status` is the HTTP status. Run on each store
// (fuzz.test.ts, fuzz-postgres.test.ts): what one database takes, another may refuse (Postgres
// text cannot hold a NUL).

const INGEST = 'ingest-token-fuzz';
const OPS = 'ops-token-fuzz-0123456789';
const VIEWER = 'viewer-token-fuzz-0123456789';
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

let relay: RunningRelay;
let receiver: Receiver;
let backupDir: string;
const agent = new Agent({ keepAlive: true, maxSockets: 8 });
/** Ids that exist, so some fuzzed requests reach the handlers behind the 404s. */
const known = { events: [] as string[], deliveries: [] as string[], subscriptions: ['hooks', 'api-sub'] };

/** Postgres for the relay under test: HOOKRELAY_TEST_POSTGRES_URL (set by .ci/run), each run in a schema of its own. */
const POSTGRES_URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The whole fuzz suite against a relay on `backend`. */
export function describeFuzz(backend: 'sqlite' | 'postgres'): void {
  let dropSchema = async () => {};

  /** The relay's storage: a SQLite file with a backup dir, or a fresh Postgres schema. */
  async function storage(): Promise<Record<string, unknown>> {
    if (backend === 'sqlite') return { sqlite: { path: join(tempDir(), 'hookrelay.db'), synchronous: 'normal', backup_dir: backupDir } };
    const schema = `hookrelay_fuzz_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    await admin.end();
    dropSchema = async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
      await client.end();
    };
    const url = new URL(POSTGRES_URL);
    url.searchParams.set('options', `-c search_path=${schema}`);
    return { postgres: { url: url.toString() } };
  }

  beforeAll(async () => {
    receiver = await startReceiver();
    backupDir = tempDir();
    const config = testConfig({
      storage: await storage(),
      auth: {
        ingest_tokens: [INGEST],
        admin_tokens: [
          { name: 'ops', token: OPS, scopes: ['read', 'write'] },
          { name: 'viewer', token: VIEWER, scopes: ['read'] },
        ],
      },
      subscriptions: [
        { id: 'hooks', url: `${receiver.url}/hooks`, events: ['*'], signature: { scheme: 'standard-webhooks', secret: TEST_SECRET } },
      ],
    });
    relay = await startRelay(config, { loadConfig: () => config });
    const created = await send(
      'POST',
      '/api/v1/subscriptions',
      { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' },
      JSON.stringify({ id: 'api-sub', url: `${receiver.url}/api` }),
    );
    expect(created.status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const res = await relay.post('/ingest', { type: `seed.${i}` }, { authorization: `Bearer ${INGEST}` });
      known.events.push(((await res.json()) as { id: string }).id);
    }
    for (const id of known.events) {
      const res = await send('GET', `/api/v1/events/${id}`, { authorization: `Bearer ${OPS}` });
      known.deliveries.push(...(JSON.parse(res.body.toString()) as { deliveries: { id: string }[] }).deliveries.map((d) => d.id));
    }
  });

  afterAll(async () => {
    agent.destroy();
    await relay?.stop();
    await receiver?.close();
    await dropSchema();
  });

  interface Answer {
    status: number;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }

  /**
   * One request over node:http (fetch refuses some of the bytes these tests send on purpose), on a
   * kept-alive connection: a connection the relay leaves in a bad state would reset the next request.
   */
  async function send(method: string, path: string, headers: Record<string, string>, body?: string | Uint8Array): Promise<Answer> {
    return sendOnce(method, path, headers, body, agent);
  }

  function sendOnce(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
    via: Agent | false,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request(`${relay.url}${path}`, { method, headers, agent: via }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', (err) => reject(Object.assign(err, { reusedSocket: req.reusedSocket })));
      req.end(body);
    });
  }

  /** The property every answer must have. */
  function expectWellFormed(answer: Answer, method: string, what: string): void {
    expect(answer.status, `${what}: ${answer.body.toString().slice(0, 300)}`).toBeLessThan(500);
    if (answer.status < 400) return;
    expect(answer.headers['content-type'], what).toBe('application/problem+json');
    if (method === 'HEAD') return;
    const problem = JSON.parse(answer.body.toString()) as Record<string, unknown>;
    expect(problem.status, what).toBe(answer.status);
    expect(typeof problem.title, what).toBe('string');
    expect(typeof problem.type, what).toBe('string');
  }

  // ---- arbitraries ------------------------------------------------------------------------------

  const charIn = (...ranges: [number, number][]) =>
    fc.oneof(...ranges.map(([min, max]) => fc.integer({ min, max }))).map((c) => String.fromCharCode(c));
  /** Any byte Node lets through in a header value (latin1 without controls). */
  const headerValue = fc.string({ unit: charIn([0x20, 0x7e], [0x80, 0xff]), maxLength: 80 });
  /** Bytes Node accepts raw in a request target: no controls or spaces, `/ ? #` kept out of segments. */
  const segment = fc.oneof(
    fc.string({ unit: charIn([0x21, 0x22], [0x24, 0x2e], [0x30, 0x3e], [0x40, 0x7e], [0x80, 0xff]), minLength: 1, maxLength: 40 }),
    fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%2F', '..', '.', '%25', '%C0%AF', 'a'.repeat(300), '%F0%9F%98%80', '\u00ff\u00fe'),
  );
  const queryValue = fc.oneof(
    segment,
    fc.string({ maxLength: 30 }).map(encodeURIComponent),
    fc.constantFrom('', '0', '-1', '501', '1e3', '50.5', 'NaN', 'Infinity', '99999999999999999999', '0x10', ' 5', 'true'),
    fc.constantFrom(
      '2026-11-23T10:00:00Z',
      '2026-13-45T00:00:00Z',
      'yesterday',
      '0',
      '-271821-04-20T00:00:00Z',
      '+275760-09-13T00:00:00.001Z',
      '2026-11-23T10:00:00%2B99:99',
    ),
    fc.constantFrom('pending', 'retrying', 'delivering', 'succeeded', 'failed', 'cancelled', 'PENDING', 'bogus'),
    fc.base64String({ maxLength: 60 }),
  );
  const queryKey = fc.oneof(fc.constantFrom('limit', 'cursor', 'status', 'since', 'until', 'type', 'subscription', 'event_type'), segment);
  const queryString = fc
    .array(fc.tuple(queryKey, fc.option(queryValue, { nil: undefined })), { maxLength: 6 })
    .map((pairs) => (pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`));

  const authorization = (valid: string[]) =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...valid.map((t) => `Bearer ${t}`)) },
      fc.constantFrom(
        undefined,
        '',
        'Bearer',
        'Bearer ',
        'bearer',
        `Basic ${Buffer.from('a:b').toString('base64')}`,
        `Bearer  ${valid[0]}  `,
        `bEaReR ${valid[0]}`,
      ),
      headerValue.map((v) => `Bearer ${v}`),
      headerValue,
    );
  const contentType = fc.oneof(
    { weight: 4, arbitrary: fc.constant('application/json') },
    fc.constantFrom(
      undefined,
      '',
      'application/json; charset=utf-8',
      'application/cloudevents+json',
      'APPLICATION/JSON',
      'application/jsonx',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=latin1',
    ),
    headerValue,
  );
  /** Random extra headers; hop-by-hop and framing headers stay Node's business (see bounded.test.ts). */
  const FRAMING = new Set([
    'content-length',
    'transfer-encoding',
    'host',
    'connection',
    'expect',
    'upgrade',
    'te',
    'keep-alive',
    'trailer',
    'authorization',
    'content-type',
  ]);
  const headerName = fc
    .string({ unit: fc.constantFrom(..."!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"), minLength: 1, maxLength: 20 })
    .filter((n) => !FRAMING.has(n));
  const extraHeaders = fc.dictionary(
    fc.oneof(headerName, fc.constantFrom('idempotency-key', 'origin', 'accept', 'content-encoding', 'x-forwarded-for')),
    headerValue,
    { maxKeys: 4 },
  );

  const nest = (n: number, inner: string) => '['.repeat(n) + inner + ']'.repeat(n);
  const event = fc.record(
    {
      type: fc.oneof(
        { weight: 3, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/) },
        fc.string({ unit: 'grapheme', maxLength: 140 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      data: fc.jsonValue({ maxDepth: 4 }),
      id: fc.oneof(fc.string({ unit: 'binary', maxLength: 300 }), fc.stringMatching(/^[\x21-\x7e]{1,40}$/), fc.integer()),
    },
    { requiredKeys: [] },
  );
  /** A body: valid-looking events, arbitrary JSON, and text and bytes that are not JSON at all. */
  const body = fc.oneof(
    event.map((e) => JSON.stringify(e)),
    fc.array(event, { maxLength: 5 }).map((events) => JSON.stringify({ events })),
    fc.json({ maxDepth: 4 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.uint8Array({ maxLength: 300 }),
    // Invalid UTF-8 inside an otherwise valid event.
    fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((bytes) => Buffer.concat([Buffer.from('{"type":"a.b","data":"'), Buffer.from(bytes.map((b) => b | 0x80)), Buffer.from('"}')])),
    // Deep nesting, as data and as the whole body.
    fc.integer({ min: 1, max: 200_000 }).map((n) => `{"type":"deep","data":${nest(n, '1')}}`),
    fc.integer({ min: 1, max: 100_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
    fc.integer({ min: 1, max: 100_000 }).map((n) => nest(n, '')),
    // Numbers JavaScript cannot hold, and escapes that are not characters.
    fc.constantFrom(
      '{"type":"n","data":1e999999}',
      '{"type":"n","data":-1e-999999}',
      '{"type":"n","data":123456789012345678901234567890123456789}',
      '{"type":"n","data":{"a":-0}}',
      '{"type":"u","data":"\\ud800"}',
      '{"type":"u","data":{"\\udfff":"\\u0000"}}',
      '{"type":"p","data":{"__proto__":{"x":1},"constructor":{"prototype":1}}}',
      '{"type":"a","type":"b"}',
      '\ufeff{"type":"bom"}',
      `{"events":[${Array.from({ length: 1001 }, () => '{"type":"x"}').join(',')}]}`,
      '{"events":{}}',
      'null',
      '',
    ),
  );

  // ---- properties -------------------------------------------------------------------------------

  describe('fuzzing /ingest', () => {
    it('never answers 5xx to random bodies, content types, tokens and Idempotency-Keys', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('/ingest', '/ingest/batch', '/ingest/', '/ingest/batch/'),
          queryString,
          body,
          contentType,
          authorization([INGEST]),
          fc.option(fc.oneof(headerValue, fc.stringMatching(/^[\x21-\x7e]{1,300}$/)), { nil: undefined }),
          extraHeaders,
          async (path, query, payload, type, auth, idempotencyKey, extra) => {
            const headers: Record<string, string> = { ...extra };
            if (type !== undefined) headers['content-type'] = type;
            if (auth !== undefined) headers.authorization = auth;
            if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey;
            const answer = await send('POST', path + query, headers, payload);
            expectWellFormed(answer, 'POST', `POST ${path}${query}`);
          },
        ),
        { numRuns: RUNS * 2 },
      );
      expect((await send('GET', '/healthz', {})).status).toBe(200);
    });

    it('answers a body nested far deeper than any event needs with 400, not a stack overflow', async () => {
      for (const text of [
        `{"type":"deep","data":${nest(200_000, '1')}}`,
        `{"type":"deep","data":${'{"a":'.repeat(100_000)}1${'}'.repeat(100_001)}`,
      ]) {
        const answer = await send('POST', '/ingest', { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' }, text);
        expectWellFormed(answer, 'POST', 'deep');
        expect(answer.status).toBe(400);
      }
      // Up to MAX_JSON_DEPTH levels (the event object is the first) is accepted.
      const ok = await send(
        'POST',
        '/ingest',
        { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
        `{"type":"deep","data":${nest(MAX_JSON_DEPTH - 1, '1')}}`,
      );
      expect(ok.status).toBe(202);
      const over = await send(
        'POST',
        '/ingest',
        { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
        `{"type":"deep","data":${nest(MAX_JSON_DEPTH, '1')}}`,
      );
      expect(over.status).toBe(400);
      // Brackets inside strings are text, not nesting.
      const text = await send(
        'POST',
        '/ingest',
        { authorization: `Bearer ${INGEST}`, 'content-type': 'application/json' },
        JSON.stringify({ type: 'deep', data: `${'['.repeat(5000)}\\"{` }),
      );
      expect(text.status).toBe(202);
    });
  });

  /** Every admin route with its method; `{id}` is filled with a known or random id. */
  const ADMIN_ROUTES: [string, string, keyof typeof known | null][] = [
    ['GET', '/subscriptions', null],
    ['POST', '/subscriptions', null],
    ['GET', '/subscriptions/{id}', 'subscriptions'],
    ['PATCH', '/subscriptions/{id}', 'subscriptions'],
    ['DELETE', '/subscriptions/{id}', 'subscriptions'],
    ['POST', '/subscriptions/{id}/rotate-secret', 'subscriptions'],
    ['POST', '/subscriptions/{id}/test', 'subscriptions'],
    ['POST', '/subscriptions/{id}/recover', 'subscriptions'],
    ['GET', '/events', null],
    ['GET', '/events/{id}', 'events'],
    ['POST', '/events/{id}/replay', 'events'],
    ['GET', '/deliveries', null],
    ['GET', '/deliveries/{id}', 'deliveries'],
    ['POST', '/deliveries/{id}/retry', 'deliveries'],
    ['POST', '/deliveries/{id}/cancel', 'deliveries'],
    ['GET', '/stats', null],
    ['GET', '/audit', null],
    ['GET', '/openapi.json', null],
    ['POST', '/reload', null],
    ['POST', '/backup', null],
  ];

  /** Subscription-shaped bodies: every field present or not, each valid or garbage. */
  const subscriptionBody = fc.record(
    {
      id: fc.oneof(fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,10}$/), fc.string({ maxLength: 70 }), fc.integer()),
      url: fc.oneof(
        fc.constant('http://127.0.0.1:9/hook'),
        fc.string({ maxLength: 40 }),
        fc.constantFrom(
          'ftp://x/y',
          'http://[::1',
          'http://256.256.256.256/',
          'http://u:p@127.0.0.1/',
          'http://169.254.169.254/latest',
          'javascript:alert(1)',
        ),
      ),
      events: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('*', 'a.*', 'a.b', '*.a', ''), fc.string({ maxLength: 10 })), { maxLength: 3 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      filter: fc.oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom(
          { 'data.a': { $regex: '(a+)+$' } },
          { $and: [] },
          { $or: 'x' },
          { 'data.x': { $in: 1 } },
          { 'data.x': { $bogus: 1 } },
        ),
      ),
      enabled: fc.jsonValue({ maxDepth: 0 }),
      signature: fc.oneof(
        fc.record(
          {
            scheme: fc.constantFrom('standard-webhooks', 'ed25519', 'stripe', 'github', 'hmac-sha256', 'none', 'rot13'),
            secret: fc.oneof(fc.string({ maxLength: 50 }), fc.constant(TEST_SECRET)),
            header: headerValue,
            encoding: fc.string({ maxLength: 8 }),
            previous_secrets: fc.jsonValue({ maxDepth: 2 }),
          },
          { requiredKeys: [] },
        ),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      payload: fc.constantFrom('envelope', 'data', 'xml', 1),
      encrypt: fc.jsonValue({ maxDepth: 0 }),
      headers: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), { maxKeys: 3 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      timeout: fc.oneof(
        fc.constantFrom('10s', '0s', '-1s', '1e9d', '99999999999999999999d', '10', ''),
        fc.string({ maxLength: 8 }),
        fc.double(),
      ),
      retry_schedule: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('1s', '0ms', '999999d'), fc.string({ maxLength: 6 })), { maxLength: 4 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
      rate_limit: fc.oneof(fc.constantFrom('50/s', 'off', '0/s', '1/0s', '99999999999999999999/ms', false), fc.string({ maxLength: 8 })),
      max_in_flight: fc.oneof(fc.integer(), fc.double(), fc.constant(1e308)),
      ordering: fc.constantFrom('none', 'fifo', 'lifo'),
      keep_old_for: fc.oneof(fc.constantFrom('24h', '0s', '-1h', '9999999999999999d'), fc.string({ maxLength: 8 })),
      since: queryValue,
      until: queryValue,
      subscriptions: fc.oneof(
        fc.array(fc.oneof(fc.constantFrom('hooks', 'api-sub'), fc.string({ maxLength: 10 })), { maxLength: 3 }),
        fc.jsonValue({ maxDepth: 1 }),
      ),
    },
    { requiredKeys: [] },
  );
  /** Backup names as the fuzzer makes them: the relay itself must keep every one inside backup_dir (a temp directory). */
  const backupBody = fc.oneof(
    fc.string({ maxLength: 40, unit: 'binary' }).map((name) => JSON.stringify({ name })),
    fc.constantFrom(
      '{"name":""}',
      '{"name":1}',
      '{"name":null}',
      `{"name":"${'a'.repeat(5000)}"}`,
      '{"name":"../escape.db"}',
      '{"name":"/nonexistent-dir-hookrelay/x.db"}',
      '{"name":".."}',
      '{"path":"/tmp/x.db"}',
      '{}',
    ),
  );
  const adminBody = fc.oneof(
    subscriptionBody.map((b) => JSON.stringify(b)),
    body,
  );

  describe('fuzzing the admin API', () => {
    it('never answers 5xx on any route, to any token, id, query string or body', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ADMIN_ROUTES),
          fc.oneof({ weight: 2, arbitrary: fc.constant('known') }, segment),
          fc.nat(),
          queryString,
          fc.option(adminBody, { nil: undefined }),
          backupBody,
          contentType,
          authorization([OPS, VIEWER]),
          extraHeaders,
          async ([method, template, kind], idChoice, pick, query, payload, backupPayload, type, auth, extra) => {
            const ids = kind ? known[kind] : [];
            const id = idChoice === 'known' && ids.length > 0 ? ids[pick % ids.length]! : idChoice;
            const path = `/api/v1${template.replace('{id}', id)}${query}`;
            const headers: Record<string, string> = { ...extra };
            if (type !== undefined) headers['content-type'] = type;
            if (auth !== undefined) headers.authorization = auth;
            const sent = template === '/backup' ? backupPayload : method === 'GET' || method === 'DELETE' ? undefined : payload;
            const answer = await send(method, path, headers, sent);
            expectWellFormed(answer, method, `${method} ${path}`);
          },
        ),
        { numRuns: RUNS * 3 },
      );
      expect((await send('GET', '/healthz', {})).status).toBe(200);
    });

    it('answers deeply nested admin bodies with 4xx, not a stack overflow', async () => {
      const headers = { authorization: `Bearer ${OPS}`, 'content-type': 'application/json' };
      const deepObject = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      const deepFilter = (n: number) => `${'{"$not":'.repeat(n)}{"data.a":1}${'}'.repeat(n)}`;
      const cases: [string, string, string][] = [
        ['POST', '/subscriptions', `{"id":"deep","url":"http://127.0.0.1:9/","filter":${deepObject(100_000)}}`],
        ['POST', '/subscriptions', `{"id":"deep","url":"http://127.0.0.1:9/","filter":${deepFilter(100_000)}}`],
        ['POST', '/subscriptions', `{"id":"deep","url":"http://127.0.0.1:9/","filter":{"$and":${nest(100_000, '{"data.a":1}')}}}`],
        ['POST', '/subscriptions', `{"id":"deep","url":"http://127.0.0.1:9/","headers":${deepObject(100_000)}}`],
        ['PATCH', '/subscriptions/api-sub', `{"filter":${deepFilter(100_000)}}`],
        ['POST', `/events/${known.events[0]}/replay`, `{"subscriptions":${nest(100_000, '"hooks"')}}`],
        ['POST', '/subscriptions/api-sub/recover', `{"since":${deepObject(100_000)}}`],
        ['POST', '/subscriptions/api-sub/rotate-secret', nest(200_000, '')],
        ['POST', '/backup', `{"name":${deepObject(100_000)}}`],
      ];
      for (const [method, path, text] of cases) {
        const answer = await send(method, `/api/v1${path}`, headers, text);
        expectWellFormed(answer, method, `${method} ${path}`);
        expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      }
    });

    it('answers unknown methods and paths under /api/v1 and elsewhere with problem+json', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'M-SEARCH'),
          fc.array(segment, { minLength: 0, maxLength: 4 }),
          fc.constantFrom('/api/v1/', '/', '/ingest/', '/api/', '/ui/', '/healthz/', '//'),
          queryString,
          authorization([OPS]),
          async (method, segments, prefix, query, auth) => {
            const path = prefix + segments.join('/') + query;
            const answer = await send(method, path, auth === undefined ? {} : { authorization: auth });
            expectWellFormed(answer, method, `${method} ${path}`);
          },
        ),
        { numRuns: RUNS },
      );
    });
  });
}

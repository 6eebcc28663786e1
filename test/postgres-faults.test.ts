import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/store/postgres/connect';
import { assertBundleBuilt, runBundle, spawnChildRelay, type ChildRelay, type SpawnedRelay } from './helpers/child';
import { startFaultProxy, type FaultProxy } from './helpers/fault-proxy';
import { startReceiver, type Handler, type Received, type Receiver } from './helpers/receiver';
import { tempDir, TEST_SECRET } from './helpers/relay';

/*
 * Postgres faults must never take the relay down (issue 14; SPEC sections 2, 3 and 13). Each relay
 * is the built bundle in a child process, talking to the real local Postgres THROUGH a fault proxy
 * of its own (test/helpers/fault-proxy.ts), so a test can cut, refuse or blackhole its database
 * mid-run; the test's own pool talks to Postgres directly. Each test has a schema of its own, and
 * its relays an application_name of their own, so terminating "their" backends never touches
 * another test file's connections on the same database.
 *
 * The numbers below are the contract's, for this config: connect_timeout 1 s, statement_timeout
 * 2 s, lease_margin 1 s, delivery timeout 2 s (a lease lasts 3 s), shutdown_grace 2 s.
 */

const BASE_URL = process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const admin = new pg.Pool({ connectionString: BASE_URL, max: 2 });

/** After the database is back, /ingest answers 202 again (and dispatch resumes) within this. */
const RECOVERY_MS = 2000;
/** An event posted after recovery reaches the receiver within this of its 202: NOTIFY and nudges work, not only the 1 s poll. */
const FAST_DELIVERY_MS = 800;
/** No request outlives connect_timeout (1 s) plus statement_timeout (2 s) by much. */
const REQUEST_BOUND_MS = 5000;
/** The test's HTTP client gives up here and records the request as hung. */
const HANG_MS = 10_000;
/** SIGTERM exits within shutdown_grace (2 s) plus a margin, even with the database blackholed. */
const SHUTDOWN_BOUND_MS = 5000;
/** How long each outage lasts. */
const OUTAGE_MS = 5000;

const PAUSED = 'storage unavailable: dispatch paused';
const RESUMED = 'storage available again: dispatch resumed';
const WARN = 'warn';
const INFO = 'info';

const schemas: string[] = [];
let relays: SpawnedRelay[] = [];
let proxies: FaultProxy[] = [];
let receivers: Receiver[] = [];

beforeAll(assertBundleBuilt);
afterEach(async () => {
  for (const r of relays) {
    r.proc.kill('SIGCONT');
    r.proc.kill('SIGKILL');
  }
  await Promise.all(relays.map((r) => r.exited));
  await Promise.all(proxies.map((p) => p.close()));
  await Promise.all(receivers.map((r) => r.close()));
  relays = [];
  proxies = [];
  receivers = [];
});
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  await admin.end();
});

// ---------------------------------------------------------------------------------------------
// Set-up: a schema, proxies, receivers and relays, all cleaned up after each test.

interface Database {
  schema: string;
  /** The application_name every connection of this test's relays carries. */
  app: string;
}

async function database(): Promise<Database> {
  const tag = randomBytes(6).toString('hex');
  const schema = `hookrelay_fault_${tag}`;
  await admin.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
  schemas.push(schema);
  return { schema, app: `hookrelay_fault_${tag}` };
}

/** The relay's URL: through the proxy on `port`, in the test's schema, with its application_name. */
function urlThrough(db: Database, port: number): string {
  const url = new URL(BASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  url.search = `?options=-c%20search_path%3D${db.schema}&application_name=${db.app}`;
  return url.toString();
}

async function proxy(): Promise<FaultProxy> {
  const base = new URL(BASE_URL);
  const started = await startFaultProxy({ targetHost: base.hostname, targetPort: Number(base.port || 5432) });
  proxies.push(started);
  return started;
}

async function receiver(handler?: Handler): Promise<Receiver> {
  const started = await startReceiver(handler);
  receivers.push(started);
  return started;
}

function config(url: string, receiverUrl: string, opts: { userAgent?: string } = {}): string {
  const ua = opts.userAgent ? `, user_agent: ${opts.userAgent}` : '';
  return `server: { host: 127.0.0.1, port: 0, shutdown_grace: 2s }
storage:
  postgres: { url: "${url}", lease_margin: 1s, connect_timeout: 1s, statement_timeout: 2s }
delivery: { allow_private_networks: true, timeout: 2s, retry_schedule: [200ms, 200ms, 200ms, 200ms, 200ms], jitter: 0${ua} }
log: { level: info, format: json }
subscriptions:
  - { id: orders, url: "${receiverUrl}/orders", signature: { scheme: standard-webhooks, secret: ${TEST_SECRET} } }
`;
}

async function relay(yaml: string): Promise<ChildRelay> {
  const dir = tempDir();
  // Registered before it listens, so a relay that never does is still killed after the test.
  const child = spawnChildRelay(dir, yaml);
  relays.push(child);
  const listening = await child.waitForLog((l) => l.msg === 'hookrelay listening');
  return { ...child, url: `http://127.0.0.1:${listening.port}` };
}

// ---------------------------------------------------------------------------------------------
// Talking to a relay, and what it answered.

interface Answer {
  status: number;
  /** The event id of a 202. */
  id?: string;
  retryAfter: string | null;
  contentType: string | null;
  body: unknown;
  startedAt: number;
  endedAt: number;
  /** Why there was no HTTP answer (status 0): a network error, or 'hung' after HANG_MS. */
  error?: string;
}

async function ingest(relayUrl: string, data: unknown = {}): Promise<Answer> {
  const startedAt = Date.now();
  try {
    const res = await fetch(`${relayUrl}/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'order.created', data }),
      signal: AbortSignal.timeout(HANG_MS),
    });
    const text = await res.text();
    const body = parseJson(text);
    return {
      status: res.status,
      ...(res.status === 202 && { id: (body as { id: string }).id }),
      retryAfter: res.headers.get('retry-after'),
      contentType: res.headers.get('content-type'),
      body,
      startedAt,
      endedAt: Date.now(),
    };
  } catch (err) {
    const hung = (err as Error).name === 'TimeoutError';
    const error = hung ? `hung for ${HANG_MS} ms` : String((err as Error & { cause?: unknown }).cause ?? err);
    return { status: 0, retryAfter: null, contentType: null, body: undefined, startedAt, endedAt: Date.now(), error };
  }
}

async function get(relayUrl: string, path: string): Promise<{ status: number; ms: number; error?: string }> {
  const startedAt = Date.now();
  try {
    const res = await fetch(relayUrl + path, { signal: AbortSignal.timeout(HANG_MS) });
    await res.arrayBuffer();
    return { status: res.status, ms: Date.now() - startedAt };
  } catch (err) {
    return { status: 0, ms: Date.now() - startedAt, error: String(err) };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const show = (a: Answer) =>
  `${a.status || a.error} after ${a.endedAt - a.startedAt} ms${a.status >= 400 ? ` ${JSON.stringify(a.body)}` : ''}`;

/** Status counts, for failure messages: "202 x41, 503 x7". */
function tally(answers: Answer[]): string {
  const counts = new Map<string, number>();
  for (const a of answers) counts.set(String(a.status || a.error), (counts.get(String(a.status || a.error)) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} x${n}`).join(', ');
}

/**
 * Posts single events in a loop (one at a time, a short pause between them, at most `max`) to the
 * given relays in turn, recording every answer, until stopped.
 */
function startGenerator(targets: ChildRelay[], max = 2000) {
  const answers: (Answer & { target: number })[] = [];
  let running = true;
  const done = (async () => {
    for (let i = 0; running && i < max; i++) {
      // A relay that has exited answers nothing more; hammering its closed port would only bury the reason.
      if (targets.some((t) => exitOf(t) !== null)) break;
      const target = i % targets.length;
      answers.push({ ...(await ingest(targets[target]!.url, { i })), target });
      // Pacing, not a wait for anything: keeps two shared cores from being flooded.
      await delay(20);
    }
  })();
  return {
    answers,
    accepted: () => answers.filter((a) => a.status === 202),
    /** Waits until `n` more events than now have been acknowledged (202). */
    async progress(n: number, timeoutMs: number, what: string) {
      const goal = answers.filter((a) => a.status === 202).length + n;
      await waitUntil(
        () => {
          for (const t of targets) expectAlive(t, `${what} (answers so far: ${tally(answers)})`);
          return answers.filter((a) => a.status === 202).length >= goal;
        },
        timeoutMs,
        () => `${what}: ${n} more 202s (answers so far: ${tally(answers)})`,
      );
    },
    async stop() {
      running = false;
      await done;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting and asserting.

const delay = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Polls `check` every 25 ms until it holds; throws "<what> not within N ms" otherwise. */
async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what()} not within ${timeoutMs} ms`);
    await delay(25);
  }
}

function lastLogs(relay: SpawnedRelay, n = 8): string {
  return relay.logs
    .slice(-n)
    .map((l) => JSON.stringify(l))
    .join('\n  ');
}

const exitOf = (relay: SpawnedRelay) => relay.proc.exitCode ?? relay.proc.signalCode;

/** The process has not exited: no storage fault ends it. */
function expectAlive(relay: SpawnedRelay, when: string): void {
  const how = exitOf(relay);
  expect(
    how,
    `${when}: the relay process exited (${how}); stderr starts: ${relay.stderr().trim().split('\n').slice(0, 6).join('\n')}\n  last log lines:\n  ${lastLogs(relay)}`,
  ).toBeNull();
}

/** Every /ingest answer during a fault is 202 or 503: never a 500, a dropped connection or a hang. */
function expectOnly202Or503(answers: Answer[], who: string): void {
  const odd = answers.filter((a) => a.status !== 202 && a.status !== 503);
  expect(odd.map(show), `${who}: /ingest answers other than 202 or 503 (all answers: ${tally(answers)})`).toEqual([]);
}

/** A 503 as SPEC section 3 says: problem+json, status 503, and a Retry-After in whole seconds. */
function expect503(a: Answer, when: string): void {
  expect(a.status, `${when}: POST /ingest answered ${show(a)} instead of 503`).toBe(503);
  expect(a.contentType, `${when}: the 503's content-type`).toMatch(/^application\/problem\+json/);
  expect(a.retryAfter, `${when}: the 503 has no Retry-After header`).toMatch(/^[1-9]\d*$/);
  expect(a.body, `${when}: the 503's problem body`).toMatchObject({ status: 503 });
}

/** While the database is unreachable: /ingest 503 (bounded), /readyz 503, /healthz 200. */
async function expectUnavailable(relay: ChildRelay, when: string): Promise<void> {
  const [answer, ready, health] = await Promise.all([ingest(relay.url), get(relay.url, '/readyz'), get(relay.url, '/healthz')]);
  // A dropped connection usually means the process is going down: wait a moment so the failure says so.
  if ([answer, ready, health].some((a) => a.status === 0)) await Promise.race([relay.exited, delay(1000)]);
  expectAlive(relay, when);
  expect503(answer, when);
  expect(answer.endedAt - answer.startedAt, `${when}: POST /ingest took too long to answer 503`).toBeLessThan(REQUEST_BOUND_MS);
  expect(ready.status, `${when}: GET /readyz answered ${ready.status || ready.error} after ${ready.ms} ms instead of 503`).toBe(503);
  expect(ready.ms, `${when}: GET /readyz took too long to answer`).toBeLessThan(REQUEST_BOUND_MS);
  expect(health.status, `${when}: GET /healthz answered ${health.status || health.error} instead of 200`).toBe(200);
}

const deliveredIds = (received: Received[]) => new Set(received.map((r) => r.headers['webhook-id']));

/** Every acknowledged event reaches the receiver (at least once), matched on webhook-id. */
async function expectDelivered(rcv: Receiver, ids: string[], timeoutMs: number, who: string): Promise<void> {
  const missing = () => ids.filter((id) => !deliveredIds(rcv.received).has(id));
  await rcv
    .waitFor(() => missing().length === 0, timeoutMs)
    .catch(() => {
      throw new Error(
        `${who}: ${missing().length} of ${ids.length} acknowledged events never reached the receiver within ${timeoutMs} ms, e.g. ${missing().slice(0, 5).join(', ')}`,
      );
    });
}

const outageLines = (relay: SpawnedRelay) => relay.logs.filter((l) => l.msg === PAUSED || l.msg === RESUMED);

/** Exactly one warn 'dispatch paused' and then one info 'dispatch resumed' for one outage, not one per attempt. */
function expectOneOutageLogged(relay: SpawnedRelay, who: string): void {
  const lines = outageLines(relay).map((l) => `${l.level} ${l.msg}`);
  expect(lines, `${who}: the dispatcher's outage log lines (level msg)`).toEqual([`${WARN} ${PAUSED}`, `${INFO} ${RESUMED}`]);
}

/**
 * The relay resumes by itself once the database is back at `backAt`: a POST /ingest started within
 * RECOVERY_MS answers 202; 'dispatch resumed' is logged within RECOVERY_MS; and an event posted then
 * reaches the receiver within FAST_DELIVERY_MS of its 202. Answers the ids it got acknowledged.
 */
async function expectRecovery(relay: ChildRelay, rcv: Receiver, backAt: number, who: string, schema?: string): Promise<string[]> {
  const tries: Answer[] = [];
  while (!tries.some((a) => a.status === 202) && Date.now() <= backAt + RECOVERY_MS) {
    tries.push(await ingest(relay.url, { probe: tries.length }));
    if (tries.at(-1)!.status !== 202) await delay(100);
  }
  const accepted = tries.filter((a) => a.status === 202);
  expectOnly202Or503(tries, `${who}, after the database came back`);
  expect(
    accepted.length,
    `${who}: no POST /ingest started within ${RECOVERY_MS} ms of the database coming back answered 202: ${tries.map(show).join('; ')}`,
  ).toBeGreaterThan(0);
  expect(accepted[0]!.startedAt - backAt, `${who}: the first 202 after the database came back`).toBeLessThanOrEqual(RECOVERY_MS);

  const remaining = backAt + RECOVERY_MS + 500 - Date.now();
  const resumed = await relay
    .waitForLog((l) => l.msg === RESUMED, Math.max(remaining, 200))
    .catch(() => {
      throw new Error(
        `${who}: no '${RESUMED}' log line within ${RECOVERY_MS} ms of the database coming back; last log lines:\n  ${lastLogs(relay)}`,
      );
    });
  expect(Date.parse(String(resumed.time)) - backAt, `${who}: '${RESUMED}' came too late after the database came back`).toBeLessThanOrEqual(
    RECOVERY_MS,
  );

  const fast = await ingest(relay.url, { fast: true });
  expect(fast.status, `${who}: POST /ingest right after recovery answered ${show(fast)}`).toBe(202);
  await rcv
    .waitFor((r) => r.some((x) => x.headers['webhook-id'] === fast.id), 5000)
    .catch(() => {
      throw new Error(`${who}: the event posted right after recovery (${fast.id}) was not delivered within 5 s`);
    });
  const arrived = rcv.received.find((x) => x.headers['webhook-id'] === fast.id)!;
  expect(
    arrived.at - fast.endedAt,
    `${who}: the event posted right after recovery took longer than ${FAST_DELIVERY_MS} ms to arrive (the 1 s poll, not a nudge or NOTIFY?)`,
  ).toBeLessThan(FAST_DELIVERY_MS);
  const outside = schema === undefined ? [] : await expectListening(schema, rcv, who);
  return [...accepted.map((a) => a.id!), fast.id!, ...outside];
}

/** The only wake-up a relay gets for work committed by someone else, when its own poll is far off. */
const NOTIFIED_MS = 400;

/**
 * LISTEN is back: events committed straight into the database (as another instance would, with its
 * NOTIFY) are claimed and delivered within NOTIFIED_MS, three times in a row, where the relay's own
 * 1 s poll would be that fast by chance only about a third of the time each. Answers their ids.
 */
async function expectListening(schema: string, rcv: Receiver, who: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = `evt_outside_${i}_${Date.now()}`;
    const client = await admin.connect();
    let committedAt: number;
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(`SELECT (extract(epoch from clock_timestamp()) * 1000)::bigint AS now`);
      const now = Number(rows[0].now);
      const t = quoteIdent(schema);
      await client.query(
        `INSERT INTO ${t}.events (id, type, data, content_hash, created_at, delivery_count) VALUES ($1, 'order.created', '{}', $1, $2, 1)`,
        [id, now],
      );
      await client.query(
        `INSERT INTO ${t}.deliveries (id, event_id, subscription_id, event_type, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, 'orders', 'order.created', 'pending', 0, $3, $3, $3)`,
        [`dlv_outside_${i}_${Date.now()}`, id, now],
      );
      await client.query(`SELECT pg_notify('hookrelay_work', '')`);
      await client.query('COMMIT');
      committedAt = Date.now();
    } finally {
      client.release();
    }
    await rcv
      .waitFor((r) => r.some((x) => x.headers['webhook-id'] === id), 5000)
      .catch(() => {
        throw new Error(`${who}: an event committed with NOTIFY from outside (${id}) was not delivered within 5 s`);
      });
    const arrived = rcv.received.find((x) => x.headers['webhook-id'] === id)!;
    expect(arrived.at - committedAt, `${who}: an event committed with NOTIFY from outside took the poll, not LISTEN`).toBeLessThan(
      NOTIFIED_MS,
    );
    ids.push(id);
  }
  return ids;
}

/** Acknowledged events before a fault, delivered, so the fault starts with no attempt result waiting to be written. */
async function warmUp(relay: ChildRelay, rcv: Receiver, n = 3): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = await ingest(relay.url, { before: i });
    expect(a.status, `before any fault: POST /ingest answered ${show(a)}`).toBe(202);
    ids.push(a.id!);
  }
  await expectDelivered(rcv, ids, 5000, 'before any fault');
  return ids;
}

// ---------------------------------------------------------------------------------------------

describe('Postgres faults never take the relay down', () => {
  it('connections terminated three times while events are posted: the process stays up, every answer is 202 or 503, every 202 is delivered', async () => {
    const db = await database();
    const [rcv, px] = await Promise.all([receiver(), proxy()]);
    const r = await relay(config(urlThrough(db, px.port), rcv.url));
    await warmUp(r, rcv);
    const generator = startGenerator([r]);
    try {
      for (let round = 1; round <= 3; round++) {
        // Each round starts once events flow again: the relay recovered from the previous one by itself.
        await generator.progress(5, RECOVERY_MS + 3000, `before termination ${round}`);
        const { rowCount } = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [
          db.app,
        ]);
        expect(rowCount, `termination ${round}: the relay had no connection to terminate`).toBeGreaterThan(0);
        expectAlive(r, `right after termination ${round}`);
      }
      await generator.progress(5, RECOVERY_MS + 3000, 'after the third termination');
    } finally {
      await generator.stop();
    }
    expectAlive(r, 'after three terminations');
    expectOnly202Or503(generator.answers, 'while connections were terminated');

    // Whatever outages the dispatcher saw (a termination may go unnoticed), each was logged once and ended.
    if (outageLines(r).at(-1)?.msg === PAUSED)
      await r.waitForLog((l) => l.msg === RESUMED && outageLines(r).at(-1) === l, RECOVERY_MS + 1000);
    const lines = outageLines(r).map((l) => l.msg);
    expect(lines.length, `more outages logged than terminations: ${lines.join(' / ')}`).toBeLessThanOrEqual(6);
    lines.forEach((msg, i) => expect(msg, `outage log line ${i + 1} of ${lines.join(' / ')}`).toBe(i % 2 === 0 ? PAUSED : RESUMED));

    // LISTEN was among the connections terminated: an event posted now still arrives fast.
    const fast = await ingest(r.url, { fast: true });
    expect(fast.status, `after the terminations: POST /ingest answered ${show(fast)}`).toBe(202);
    await expectDelivered(rcv, [fast.id!], 5000, 'after the terminations');
    const arrived = rcv.received.find((x) => x.headers['webhook-id'] === fast.id)!;
    expect(arrived.at - fast.endedAt, `after the terminations, an event took longer than ${FAST_DELIVERY_MS} ms to arrive`).toBeLessThan(
      FAST_DELIVERY_MS,
    );
    // The LISTEN connection was terminated too: it is back, so work committed elsewhere wakes this relay.
    await expectListening(db.schema, rcv, 'after the terminations');

    await expectDelivered(
      rcv,
      generator.accepted().map((a) => a.id!),
      15_000,
      'after three terminations',
    );
    expectAlive(r, 'at the end');
  });

  it('a 5 s outage (connections cut, then refused): 503 with Retry-After and /readyz 503 during it, back to 202 within 2 s, nothing acknowledged lost', async () => {
    const db = await database();
    const [rcv, px] = await Promise.all([receiver(), proxy()]);
    const r = await relay(config(urlThrough(db, px.port), rcv.url));
    const before = await warmUp(r, rcv);
    const generator = startGenerator([r]);
    let after: string[];
    try {
      await generator.progress(3, 3000, 'before the outage');
      const downAt = Date.now();
      await px.setMode('cut');
      await expectUnavailable(r, 'connections cut');
      await r
        .waitForLog((l) => l.msg === PAUSED, 3000)
        .catch(() => {
          throw new Error(`no '${PAUSED}' log line within 3 s of the connections being cut; last log lines:\n  ${lastLogs(r)}`);
        });
      await delay(downAt + 2000 - Date.now()); // holds the fault: not a wait for anything
      await px.setMode('refuse');
      await expectUnavailable(r, 'connections refused');
      expectAlive(r, 'during the outage');
      await delay(downAt + OUTAGE_MS - Date.now());
      await px.setMode('pass');
      const backAt = Date.now();
      after = await expectRecovery(r, rcv, backAt, 'after a 5 s outage', db.schema);
    } finally {
      await generator.stop();
    }
    expectOnly202Or503(generator.answers, 'during a 5 s outage');
    expect(
      generator.answers.some((a) => a.status === 503),
      `no 503 during the outage: ${tally(generator.answers)}`,
    ).toBe(true);
    expectOneOutageLogged(r, 'a 5 s outage');
    await expectDelivered(rcv, [...before, ...generator.accepted().map((a) => a.id!), ...after], 15_000, 'after a 5 s outage');
    expectAlive(r, 'at the end');
  });

  it('a 5 s blackhole (a server that stops answering): every request ends with 503 within the timeouts, none hangs; recovers as after an outage', async () => {
    const db = await database();
    const [rcv, px] = await Promise.all([receiver(), proxy()]);
    const r = await relay(config(urlThrough(db, px.port), rcv.url));
    const before = await warmUp(r, rcv);
    const generator = startGenerator([r]);
    let during: Answer[];
    let after: string[];
    let blackholedAt: number;
    let backAt: number;
    try {
      await generator.progress(3, 3000, 'before the blackhole');
      await px.setMode('blackhole');
      blackholedAt = Date.now();
      // Several at once, on the pool's connections that now hang, besides the generator's.
      during = await Promise.all([ingest(r.url), ingest(r.url), ingest(r.url)]);
      for (const [i, a] of during.entries()) expect503(a, `blackholed, concurrent request ${i + 1}`);
      await expectUnavailable(r, 'blackholed');
      await r
        .waitForLog((l) => l.msg === PAUSED, 5000)
        .catch(() => {
          throw new Error(`no '${PAUSED}' log line within 5 s of the database going silent; last log lines:\n  ${lastLogs(r)}`);
        });
      expectAlive(r, 'during the blackhole');
      await delay(blackholedAt + OUTAGE_MS - Date.now()); // holds the fault: not a wait for anything
      await px.setMode('pass');
      backAt = Date.now();
      after = await expectRecovery(r, rcv, backAt, 'after a 5 s blackhole', db.schema);
    } finally {
      await generator.stop();
    }
    expectOnly202Or503(generator.answers, 'during a 5 s blackhole');
    // Requests made wholly inside the blackhole could reach nothing: 503, each within the timeouts.
    const inside = [...during, ...generator.answers.filter((a) => a.startedAt >= blackholedAt && a.endedAt <= backAt)];
    expect(inside.length, 'no request was made during the blackhole').toBeGreaterThan(3);
    for (const a of inside) expect(a.status, `a request made during the blackhole answered ${show(a)}`).toBe(503);
    const slow = [...during, ...generator.answers].filter((a) => a.endedAt - a.startedAt >= REQUEST_BOUND_MS);
    expect(slow.map(show), `requests that took ${REQUEST_BOUND_MS} ms or more (connect_timeout 1 s, statement_timeout 2 s)`).toEqual([]);
    expectOneOutageLogged(r, 'a 5 s blackhole');
    await expectDelivered(rcv, [...before, ...generator.accepted().map((a) => a.id!), ...after], 15_000, 'after a 5 s blackhole');
    expectAlive(r, 'at the end');
  });

  it('start-up while Postgres refuses connections: waits (one log line per try, HTTP up with /readyz 503), then serves once it is reachable', async () => {
    const db = await database();
    const [rcv, px] = await Promise.all([receiver(), proxy()]);
    await px.setMode('refuse');
    const child = spawnChildRelay(tempDir(), config(urlThrough(db, px.port), rcv.url));
    relays.push(child);
    const waiting = (l: Record<string, unknown>) => l.msg === 'waiting for storage';
    const first = await child.waitForLog(waiting, 5000);
    expect(first, `the first 'waiting for storage' line`).toMatchObject({ level: WARN, attempt: 1 });
    expect(first.error, `'waiting for storage' has no readable error: ${JSON.stringify(first)}`).toEqual(expect.stringMatching(/\S/));
    expect(first.retry_in_ms, `'waiting for storage' has no retry_in_ms: ${JSON.stringify(first)}`).toBeGreaterThan(0);
    expect(first.port, `'waiting for storage' has no HTTP port: ${JSON.stringify(first)}`).toBeGreaterThan(0);

    const url = `http://127.0.0.1:${first.port}`;
    const [ready, health, answer] = await Promise.all([get(url, '/readyz'), get(url, '/healthz'), ingest(url)]);
    expect(ready.status, `while waiting for storage, GET /readyz answered ${ready.status || ready.error}`).toBe(503);
    expect(health.status, `while waiting for storage, GET /healthz answered ${health.status || health.error}`).toBe(200);
    expect503(answer, 'while waiting for storage');

    // One line per try: a second try is logged as attempt 2 once the first one's delay has passed.
    const second = await child.waitForLog((l) => waiting(l) && l.attempt === 2, Number(first.retry_in_ms) + 3000);
    expect(second, `the second 'waiting for storage' line`).toMatchObject({ level: WARN, port: first.port });
    expectAlive(child, 'while waiting for storage');

    await px.setMode('pass');
    const lastDelay = Math.max(...child.logs.filter(waiting).map((l) => Number(l.retry_in_ms)));
    const listening = await child.waitForLog((l) => l.msg === 'hookrelay listening', lastDelay + 5000);
    expect(listening.port, `'hookrelay listening' names another port than the one it waited on`).toBe(first.port);
    const tries = child.logs.filter(waiting).map((l) => l.attempt);
    expect(tries, 'attempt numbers of the waiting lines').toEqual(tries.map((_, i) => i + 1));

    const served = await ingest(url);
    expect(served.status, `once storage was reachable, POST /ingest answered ${show(served)}`).toBe(202);
    expect((await get(url, '/readyz')).status, 'once storage was reachable, GET /readyz').toBe(200);
    await expectDelivered(rcv, [served.id!], 5000, 'after waiting for storage at start-up');
    expectAlive(child, 'at the end');
  });

  it('three instances, one cut off from Postgres for 5 s: the others keep answering 202, take over its leases and deliver everything; it recovers by itself', async () => {
    const VICTIM_UA = 'hookrelay-victim';
    // The victim's attempts are held until the test answers them, so its deliveries are in flight when it is cut off.
    let holding = true;
    const held: { id: string; res: ServerResponse }[] = [];
    const rcv = await receiver((req, res) => {
      if (!holding || req.headers['user-agent'] !== VICTIM_UA) return;
      held.push({ id: req.headers['webhook-id']!, res });
      return new Promise(() => {});
    });
    const db = await database();
    const [pv, p1, p2] = await Promise.all([proxy(), proxy(), proxy()]);
    const [victim, s1, s2] = await Promise.all([
      relay(config(urlThrough(db, pv.port), rcv.url, { userAgent: VICTIM_UA })),
      relay(config(urlThrough(db, p1.port), rcv.url)),
      relay(config(urlThrough(db, p2.port), rcv.url)),
    ]);
    const survivors = [s1!, s2!];

    // Only the victim runs while three events are posted to it, so it claims all three.
    for (const s of survivors) s.proc.kill('SIGSTOP');
    const victims: string[] = [];
    const heldIds = () => new Set(held.map((h) => h.id));
    try {
      for (let i = 0; i < 3; i++) {
        const a = await ingest(victim!.url, { victim: i });
        expect(a.status, `before the fault, the victim answered ${show(a)}`).toBe(202);
        victims.push(a.id!);
      }
      await waitUntil(
        () => heldIds().size === 3,
        5000,
        () => `the victim's three attempts in flight (held: ${[...heldIds()].join(', ')})`,
      );
    } finally {
      for (const s of survivors) s.proc.kill('SIGCONT');
    }

    // Cut at once, well inside the attempts' 2 s timeout, so they are still in flight.
    const downAt = Date.now();
    await pv.setMode('cut');
    // Its attempts now succeed, but it cannot record that: the leases must run out and be taken over.
    holding = false;
    for (const h of held) if (!h.res.destroyed) h.res.writeHead(200).end('ok');
    const generator = startGenerator([victim!, s1!, s2!]);
    let after: string[];
    try {
      await expectUnavailable(victim!, 'the victim, cut off');
      for (const s of survivors) expect((await get(s.url, '/readyz')).status, 'a survivor /readyz while the victim is cut off').toBe(200);
      await delay(downAt + 1000 - Date.now()); // holds the fault: not a wait for anything
      await pv.setMode('refuse');
      // Leases last 3 s (2 s timeout + 1 s margin): the survivors deliver the victim's three again.
      const fromSurvivors = () =>
        new Set(rcv.received.filter((x) => x.headers['user-agent'] !== VICTIM_UA).map((x) => x.headers['webhook-id']));
      await waitUntil(
        () => victims.every((id) => fromSurvivors().has(id)),
        8000,
        () => `the victim's in-flight deliveries taken over by the others (${victims.filter((id) => fromSurvivors().has(id)).length} of 3)`,
      );
      expectAlive(victim!, 'the victim, while cut off');
      await delay(downAt + OUTAGE_MS - Date.now());
      await pv.setMode('pass');
      after = await expectRecovery(victim!, rcv, Date.now(), 'the victim, after 5 s cut off');
    } finally {
      await generator.stop();
    }

    const bySurvivors = generator.answers.filter((a) => a.target !== 0);
    expect(
      bySurvivors.filter((a) => a.status !== 202).map(show),
      `the survivors' /ingest answers other than 202 (${tally(bySurvivors)})`,
    ).toEqual([]);
    expectOnly202Or503(
      generator.answers.filter((a) => a.target === 0),
      'the victim',
    );
    expectOneOutageLogged(victim!, 'the victim');
    for (const s of survivors)
      expect(
        outageLines(s).map((l) => l.msg),
        'a survivor logged an outage',
      ).toEqual([]);
    await expectDelivered(rcv, [...victims, ...generator.accepted().map((a) => a.id!), ...after], 15_000, 'three instances');
    // Nothing is left leased to the victim or waiting: every delivery is recorded as succeeded.
    await waitUntil(
      async () => {
        const { rows } = await admin.query(
          `SELECT count(*)::int AS n FROM ${quoteIdent(db.schema)}.deliveries WHERE status <> 'succeeded'`,
        );
        return rows[0].n === 0;
      },
      10_000,
      () => 'every delivery recorded as succeeded',
    );
    for (const r of [victim!, ...survivors]) expectAlive(r, 'at the end');
  });

  it('errors no wait can fix exit 1 at once with one readable line: a database that does not exist, and migrate with Postgres refusing', async () => {
    const dir = tempDir();
    const missing = `no_such_db_${randomBytes(4).toString('hex')}`;
    const noDb = new URL(BASE_URL);
    noDb.pathname = `/${missing}`;
    writeFileSync(join(dir, 'no-db.yaml'), config(noDb.toString(), 'http://127.0.0.1:1'));
    const startedAt = Date.now();
    const serve = await runBundle(['serve', '--config', join(dir, 'no-db.yaml')], {}, undefined, 10_000);
    const took = Date.now() - startedAt;
    expect(
      serve.timedOut ?? false,
      `serve against a database that does not exist was still running after 10 s; stdout: ${serve.stdout}`,
    ).toBe(false);
    expect(serve.code, `serve against a database that does not exist; stderr: ${serve.stderr}`).toBe(1);
    expect(took, 'serve against a database that does not exist should exit at once').toBeLessThan(5000);
    expect(serve.stderr.trimEnd().split('\n'), 'serve: stderr should be one line').toHaveLength(1);
    expect(serve.stderr, 'serve: the line should name the database').toContain(missing);
    expect(serve.stdout, 'serve: a database that does not exist is not waited for').not.toContain('waiting for storage');

    const db = await database();
    const px = await proxy();
    await px.setMode('refuse');
    writeFileSync(join(dir, 'refused.yaml'), config(urlThrough(db, px.port), 'http://127.0.0.1:1'));
    const migrate = await runBundle(['migrate', '--config', join(dir, 'refused.yaml')], {}, undefined, 10_000);
    expect(migrate.timedOut ?? false, `migrate with Postgres refusing was still running after 10 s; stdout: ${migrate.stdout}`).toBe(false);
    expect(migrate.code, `migrate with Postgres refusing; stderr: ${migrate.stderr}`).toBe(1);
    expect(migrate.stderr.trimEnd().split('\n'), 'migrate: stderr should be one line').toHaveLength(1);
    expect(migrate.stderr, 'migrate: the line should say the connection failed').toMatch(/^hookrelay: .*(refused|reach|connect)/i);
  });

  it('SIGTERM while the database is blackholed still exits within shutdown_grace plus a margin', async () => {
    const db = await database();
    const [rcv, px] = await Promise.all([receiver(), proxy()]);
    const r = await relay(config(urlThrough(db, px.port), rcv.url));
    await warmUp(r, rcv);
    await px.setMode('blackhole');
    // Requests in flight on connections that hang; their answers do not matter here.
    const inFlight = [ingest(r.url), ingest(r.url)];
    await delay(300); // lets them reach the database: not a wait for anything
    r.proc.kill('SIGTERM');
    const termAt = Date.now();
    const outcome = await Promise.race([r.exited, delay(SHUTDOWN_BOUND_MS).then(() => 'still running' as const)]);
    expect(outcome, `${SHUTDOWN_BOUND_MS} ms after SIGTERM with the database blackholed; last log lines:\n  ${lastLogs(r)}`).not.toBe(
      'still running',
    );
    expect(typeof outcome, `the relay should exit by itself, not die of a signal (${outcome})`).toBe('number');
    expect(Date.now() - termAt).toBeLessThan(SHUTDOWN_BOUND_MS);
    await Promise.all(inFlight);
  });
});

/**
 * Receiver chaos (issue 6, SPEC 4): receivers that reset the connection, answer 500, never answer,
 * answer 429/503 with Retry-After, answer 410 Gone, trickle their body, or mix these from one attempt
 * to the next. Each event carries, per subscription, the script its receiver follows (read with the
 * `x-hookrelay-attempt` header), so many differently scripted deliveries run interleaved through one
 * dispatcher; at the end each delivery's final state and attempt records are compared with what its
 * script and its subscription's retry schedule imply.
 *
 * Only ordering and counts are asserted, with one timing lower bound that is behaviour: a retry after
 * Retry-After waits at least the clamped delay (twice the scheduled one).
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { sleep } from './helpers/chaos';
import type { Received, Receiver } from './helpers/receiver';
import { testConfig, TEST_SECRET, type RunningRelay } from './helpers/relay';
import type { AttemptRecord, StoredDelivery } from '../src/store/types';
import { closeAfterEach } from './helpers/lifecycle';

/** How the receiver answers one attempt. */
type Act =
  /** 200 at once. */
  | 'ok'
  /** 500 with a body. */
  | 'e500'
  /** The socket destroyed after the request was read: no answer at all. */
  | 'reset'
  /** Never answers; the relay's timeout ends it. */
  | 'hang'
  /** 200 headers, then one byte every 50 ms until the relay gives up (past the timeout). */
  | 'stall'
  /** 200 headers, then the body in 5 pieces over ~150 ms, well within the timeout. */
  | 'slow'
  /** 429 / 503 with Retry-After: 1 (clamped to twice the scheduled 50 ms). */
  | 'r429'
  | 'r503'
  /** 410 Gone: fail for good, disable the subscription. */
  | 'gone';

const SLOW_BODY = ['tri', 'ck', 'le', 'd ', 'ok'];

async function act(what: Act, res: ServerResponse): Promise<void> {
  switch (what) {
    case 'ok':
      return void res.writeHead(200).end('ok');
    case 'e500':
      return void res.writeHead(500).end('boom');
    case 'reset':
      return void res.socket?.destroy();
    case 'hang':
      return new Promise((r) => res.on('close', r));
    case 'stall': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      const timer = setInterval(() => res.write('.'), 50);
      return new Promise((r) => res.on('close', () => (clearInterval(timer), r())));
    }
    case 'slow': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.flushHeaders();
      for (const piece of SLOW_BODY.slice(0, -1)) {
        res.write(piece);
        await sleep(30);
      }
      return void res.end(SLOW_BODY.at(-1));
    }
    case 'r429':
      return void res.writeHead(429, { 'retry-after': '1' }).end();
    case 'r503':
      return void res.writeHead(503, { 'retry-after': '1' }).end();
    case 'gone':
      return void res.writeHead(410).end();
  }
}

/** The script of one delivery: what its receiver does on attempt 1, 2, …; answers 200 past its end. */
type Script = Act[];

/** A receiver for subscription `sub` that follows the script the event's data carries for it. */
function scriptedHandler(sub: string) {
  return async (req: Received, res: ServerResponse) => {
    const { data } = JSON.parse(req.body) as { data: { scripts: Record<string, Script> } };
    const attempt = Number(req.headers['x-hookrelay-attempt']);
    await act(data.scripts[sub]?.[attempt - 1] ?? 'ok', res);
  };
}

/** What a script implies for a delivery with `maxAttempts` (1 + retries). */
function expected(script: Script, maxAttempts: number): { status: 'succeeded' | 'failed'; acts: Act[]; gone: boolean } {
  const acts: Act[] = [];
  for (let i = 0; i < maxAttempts; i++) {
    const a = script[i] ?? 'ok';
    acts.push(a);
    if (a === 'ok' || a === 'slow') return { status: 'succeeded', acts, gone: false };
    if (a === 'gone') return { status: 'failed', acts, gone: true };
  }
  return { status: 'failed', acts, gone: false };
}

/** The attempt record each act must leave (status, error, kept body). */
function expectedRecord(a: Act, timeoutMs: number) {
  switch (a) {
    case 'ok':
      return { responseStatus: 200, error: null, responseBody: 'ok' };
    case 'slow':
      return { responseStatus: 200, error: null, responseBody: SLOW_BODY.join('') };
    case 'e500':
      return { responseStatus: 500, error: 'HTTP 500', responseBody: 'boom' };
    case 'r429':
      return { responseStatus: 429, error: 'HTTP 429', responseHeaders: expect.objectContaining({ 'retry-after': '1' }) };
    case 'r503':
      return { responseStatus: 503, error: 'HTTP 503', responseHeaders: expect.objectContaining({ 'retry-after': '1' }) };
    case 'gone':
      return { responseStatus: 410, error: 'HTTP 410 Gone: subscription disabled' };
    case 'hang':
    case 'stall':
      return { responseStatus: null, responseBody: null, error: `timeout after ${timeoutMs} ms` };
    case 'reset':
      // A network error, named as such, never mistaken for a timeout or an answer.
      return {
        responseStatus: null,
        responseBody: null,
        error: expect.stringMatching(/^(?!timeout)(.*(closed|reset|socket|ECONNRESET|UND_ERR).*)$/i),
      };
  }
}

let relay: RunningRelay | undefined;
const life = closeAfterEach();

async function receiver(sub: string) {
  return life.receiver(scriptedHandler(sub));
}

function sub(id: string, url: string, extra: Record<string, unknown>) {
  return { id, url, signature: { scheme: 'standard-webhooks', secret: TEST_SECRET }, ...extra };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled'];

/** Waits until every delivery of every event is finished; returns them by event id and subscription. */
async function settledAll(eventIds: string[], perEvent: number, timeoutMs = 30_000) {
  return relay!.until(async () => {
    const all = new Map<string, Map<string, StoredDelivery>>();
    for (const id of eventIds) {
      const ds = await relay!.store.listDeliveriesOfEvent(id);
      if (ds.length !== perEvent || !ds.every((d) => TERMINAL.includes(d.status))) return null;
      all.set(id, new Map(ds.map((d) => [d.subscriptionId, d])));
    }
    return all;
  }, timeoutMs);
}

/** Waits until the delivery of one event to one subscription is finished. */
async function settledOne(eventId: string, subscriptionId: string, timeoutMs = 30_000) {
  return relay!.until(async () => {
    const d = (await relay!.store.listDeliveriesOfEvent(eventId)).find((x) => x.subscriptionId === subscriptionId);
    return d && TERMINAL.includes(d.status) ? d : null;
  }, timeoutMs);
}

/** A subscription under test: its receiver, its timeout, how many attempts its schedule allows, and its scripts. */
interface Lane {
  id: string;
  timeoutMs: number;
  retries: number;
  scripts: Script[];
  rx?: Receiver;
}

describe('receiver chaos', () => {
  it('30 events over 3 subscriptions with mixed misbehaviour: each delivery ends as its script says', async () => {
    const lanes: Lane[] = [
      {
        // Short timeout: hangs and stalled bodies end at 1.5 s (room for a CI machine, two test files
        // at once on 2 cores, to read a quick answer: 200 ms proved too tight).
        id: 'alpha',
        timeoutMs: 1500,
        retries: 3,
        scripts: [
          ['ok'],
          ['reset', 'e500', 'ok'],
          ['e500', 'e500', 'e500', 'e500'],
          ['hang', 'ok'],
          ['stall', 'reset', 'hang', 'ok'],
          ['hang', 'hang', 'hang', 'hang'],
          ['r429', 'ok'],
          ['reset', 'reset', 'reset', 'reset'],
        ],
      },
      {
        // Long enough timeout for slow bodies to finish.
        id: 'beta',
        timeoutMs: 3000,
        retries: 3,
        scripts: [
          ['slow'],
          ['e500', 'slow'],
          ['r429', 'r429', 'r429', 'r429'],
          ['r503', 'reset', 'slow'],
          ['reset', 'e500', 'r429', 'slow'],
          ['r503', 'ok'],
        ],
      },
      {
        // A shorter schedule (3 attempts in all) and a longer timeout of its own.
        id: 'gamma',
        timeoutMs: 2500,
        retries: 2,
        scripts: [['e500', 'e500', 'ok'], ['e500', 'e500', 'e500', 'ok'], ['hang', 'r429', 'ok'], ['ok'], ['reset', 'stall', 'e500']],
      },
    ];
    for (const lane of lanes) lane.rx = await receiver(lane.id);
    relay = await life.relay(
      testConfig({
        delivery: { jitter: 0, retry_schedule: ['50ms', '50ms', '50ms'] },
        subscriptions: lanes.map((l) =>
          sub(l.id, l.rx!.url, {
            timeout: `${l.timeoutMs}ms`,
            retry_schedule: Array.from({ length: l.retries }, () => '50ms'),
            max_in_flight: 8,
          }),
        ),
      }),
    );

    // Warm up first (connections, JIT): the relay, the receivers and the test share one process, and
    // a cold start can stall it long enough for a quick answer to miss a short timeout.
    const warm = await relay.post('/ingest/batch', {
      events: Array.from({ length: 8 }, () => ({ type: 'chaos.warmup', data: { scripts: {} } })),
    });
    await settledAll(
      ((await warm.json()) as { events: { id: string }[] }).events.map((e) => e.id),
      lanes.length,
    );

    // 30 events, each with a script per subscription (the lists have coprime lengths, so the
    // combinations vary); 20 in one batch and 10 single requests, all at once.
    const scriptsOf = (i: number) => Object.fromEntries(lanes.map((l) => [l.id, l.scripts[i % l.scripts.length]!]));
    const events = Array.from({ length: 30 }, (_, i) => ({ type: 'chaos.mixed', data: { i, scripts: scriptsOf(i) } }));
    const [batch, ...singles] = await Promise.all([
      relay.post('/ingest/batch', { events: events.slice(0, 20) }),
      ...events.slice(20).map((e) => relay!.post('/ingest', e)),
    ]);
    expect([batch!.status, ...singles.map((s) => s.status)]).toEqual(Array(11).fill(202));
    const ids = [
      ...((await batch!.json()) as { events: { id: string }[] }).events.map((e) => e.id),
      ...(await Promise.all(singles.map(async (s) => ((await s.json()) as { id: string }).id))),
    ];

    const settled = await settledAll(ids, lanes.length);
    let checked = 0;
    for (const [i, eventId] of ids.entries()) {
      for (const lane of lanes) {
        const script = scriptsOf(i)[lane.id]!;
        const want = expected(script, 1 + lane.retries);
        const delivery = settled.get(eventId)!.get(lane.id)!;
        const attempts: AttemptRecord[] = await relay.store.listAttempts(delivery.id);
        const seen = lane.rx!.received.filter((r) => r.headers['webhook-id'] === eventId);
        // On failure: what happened, with times relative to the first attempt's start.
        const t0 = attempts[0]?.startedAt ?? 0;
        const where =
          `event ${i} (${eventId}) → ${lane.id}, script [${script.join(', ')}]; ` +
          `recorded ${JSON.stringify(attempts.map((a) => [a.attempt, a.startedAt - t0, a.durationMs, a.responseStatus, a.error]))}; ` +
          `received ${JSON.stringify(seen.map((r) => [r.headers['x-hookrelay-attempt'], r.at - t0]))}`;

        expect(delivery, where).toMatchObject({ status: want.status, attempts: want.acts.length });
        expect(
          attempts.map((a) => a.attempt),
          where,
        ).toEqual(want.acts.map((_, k) => k + 1));
        want.acts.forEach((a, k) =>
          expect(attempts[k], `${where}, attempt ${k + 1} (${a})`).toMatchObject(expectedRecord(a, lane.timeoutMs)),
        );

        // The receiver saw exactly these attempts, in order, with the event id as webhook-id and
        // the attempt ids the records name.
        expect(
          seen.map((r) => r.headers['x-hookrelay-attempt']),
          where,
        ).toEqual(want.acts.map((_, k) => String(k + 1)));
        expect(
          seen.map((r) => r.headers['x-hookrelay-delivery']),
          where,
        ).toEqual(attempts.map((a) => a.id));

        // After a 429/503 with Retry-After (1 s, clamped to 2 × 50 ms) the next attempt waits at least 100 ms.
        for (let k = 0; k + 1 < want.acts.length; k++) {
          if (want.acts[k] === 'r429' || want.acts[k] === 'r503') {
            expect(seen[k + 1]!.at - seen[k]!.at, `${where}: wait after attempt ${k + 1}`).toBeGreaterThanOrEqual(100);
          }
        }
        checked++;
      }
    }
    expect(checked).toBe(90);

    // Failures, however many, disable nothing: only 410 does.
    for (const lane of lanes) expect(relay.app.subscriptions.get(lane.id)?.enabled, lane.id).toBe(true);
    const counts = await relay.store.countDeliveriesByStatus();
    const wantCounts = { succeeded: 0, failed: 0 };
    for (let i = 0; i < 30; i++) for (const lane of lanes) wantCounts[expected(scriptsOf(i)[lane.id]!, 1 + lane.retries).status]++;
    wantCounts.succeeded += 8 * lanes.length; // the warm-up
    expect(counts).toMatchObject({ ...wantCounts, pending: 0, retrying: 0, delivering: 0, cancelled: 0 });
  });

  it('410 Gone fails the delivery after that attempt, disables the subscription and holds its other deliveries', async () => {
    const ADMIN = 'chaos-admin-token-0123456789';
    // The first attempt of the first event waits for the test, so the others are queued behind it
    // (max_in_flight 1) when the 410 comes.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gone = await life.receiver(async (req, res) => {
      const { data } = JSON.parse(req.body) as { data: { scripts: Record<string, Script> } };
      if (data.scripts.gone?.[0] === 'gone' && req.headers['x-hookrelay-attempt'] === '1') await gate;
      await scriptedHandler('gone')(req, res);
    });
    const steady = await receiver('steady');
    relay = await life.relay(
      testConfig({
        auth: { admin_tokens: [{ name: 'ops', token: ADMIN, scopes: ['read', 'write'] }] },
        delivery: { jitter: 0, retry_schedule: ['50ms', '50ms', '50ms'] },
        subscriptions: [sub('gone', gone.url, { max_in_flight: 1 }), sub('steady', steady.url, {})],
      }),
    );
    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${relay!.url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const ingest = async (scripts: Record<string, Script>) => {
      const res = await relay!.post('/ingest', { type: 'chaos.gone', data: { scripts } });
      expect(res.status).toBe(202);
      return (await res.json()) as { id: string; deliveries: number };
    };

    const first = await ingest({ gone: ['gone'], steady: ['e500', 'ok'] });
    await gone.waitFor((r) => r.length === 1);
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await ingest({ gone: ['ok'], steady: ['ok'] }));
    expect(held.map((h) => h.deliveries)).toEqual([2, 2, 2, 2]);
    release();

    const firstGone = await settledOne(first.id, 'gone');
    expect(firstGone).toMatchObject({ status: 'failed', attempts: 1, lastStatusCode: 410 });
    expect((await relay.store.listAttempts(firstGone.id)).map((a) => [a.attempt, a.responseStatus, a.error])).toEqual([
      [1, 410, 'HTTP 410 Gone: subscription disabled'],
    ]);
    const view = await admin('GET', '/subscriptions/gone');
    expect(view.body).toMatchObject({ enabled: false, disabled_reason: expect.stringMatching(/410 Gone/) });

    // The other subscription is untouched: all its deliveries succeed, the first after a 500.
    const steadyDone = await Promise.all([first.id, ...held.map((h) => h.id)].map((id) => settledOne(id, 'steady')));
    expect(steadyDone.map((d) => d.status)).toEqual(Array(5).fill('succeeded'));
    expect(steadyDone[0]).toMatchObject({ attempts: 2 });

    // The held deliveries stay waiting, untried, past a poll period; a new event gets no delivery to it.
    await sleep(500);
    expect(gone.received).toHaveLength(1);
    for (const h of held) {
      const d = (await relay.store.listDeliveriesOfEvent(h.id)).find((x) => x.subscriptionId === 'gone');
      expect(d, h.id).toMatchObject({ status: 'pending', attempts: 0 });
    }
    expect((await ingest({ gone: ['ok'], steady: ['ok'] })).deliveries).toBe(1);

    // Enabled again through the API: the held deliveries go out (attempt 1), the 410 one stays failed.
    expect((await admin('PATCH', '/subscriptions/gone', { enabled: true })).status).toBe(200);
    await gone.waitFor((r) => r.length === 5);
    expect(
      gone.received
        .slice(1)
        .map((r) => [r.headers['webhook-id'], r.headers['x-hookrelay-attempt']])
        .sort(),
    ).toEqual(held.map((h) => [h.id, '1']).sort());
    const after = await Promise.all(held.map((h) => settledOne(h.id, 'gone')));
    expect(after.map((d) => [d.status, d.attempts])).toEqual(Array(4).fill(['succeeded', 1]));
    expect(await relay.store.getDelivery(firstGone.id)).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('410 Gone on a later attempt ends the delivery there, whatever retries remain', async () => {
    const rx = await receiver('late');
    relay = await life.relay(
      testConfig({ subscriptions: [sub('late', rx.url, { timeout: '200ms', retry_schedule: ['50ms', '50ms', '50ms', '50ms'] })] }),
    );
    const res = await relay.post('/ingest', { type: 'chaos.gone', data: { scripts: { late: ['e500', 'reset', 'gone', 'ok'] } } });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const delivery = await settledOne(id, 'late');
    expect(delivery).toMatchObject({ status: 'failed', attempts: 3, lastStatusCode: 410 });
    const attempts = await relay.store.listAttempts(delivery.id);
    (['e500', 'reset', 'gone'] as Act[]).forEach((a, k) =>
      expect(attempts[k], `attempt ${k + 1} (${a})`).toMatchObject({ attempt: k + 1, ...expectedRecord(a, 200) }),
    );
    expect(attempts).toHaveLength(3);
    expect(rx.received.map((r) => r.headers['x-hookrelay-attempt'])).toEqual(['1', '2', '3']);
    expect(relay.app.subscriptions.get('late')).toMatchObject({ enabled: false, disabledReason: expect.stringMatching(/410 Gone/) });
  });
});

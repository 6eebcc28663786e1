// `npm run bench -- --only tenants [--quick] [--postgres [URL]] [--tenants N] [--out FILE]`: the tenant-scale
// benchmark (issue #16). One relay is populated through the admin API with N tenants holding one
// subscription each, then restarted over that data dir and measured, all in one run: start-up and
// RSS, latency at a constant rate to random tenants, a backlog spread over every tenant against
// one of the same size to a single subscription, and a noisy neighbour. With Postgres, two
// instances on one fresh schema: latency, and how soon a subscription made on one instance gets
// events ingested through the other. Writes (or replaces in place) the `## Tenants` section of
// BENCHMARKS.md and leaves the rest of the file alone.
//
// Every figure is measured and reported against its target, never asserted: a target not met is
// a finding, not a failure (the exit code is 1 only when a measurement could not be made).
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import {
  ADMIN_TOKEN,
  constantRate,
  forkWithIpc,
  HERE,
  INGEST_TOKEN,
  makeTempDir,
  median,
  nowUs,
  progress,
  ROOT,
  removeTempDir,
  rssBytes,
  startRelay,
  stopChild,
} from './lib.mjs';
import { TENANTS_HEADING, writeSection } from './report.mjs';

// Quick mode keeps every phase (so it proves the harness end to end) at sizes that run in a couple
// of minutes on 2 busy cores; its figures are not the targets' verdict.
const FULL = {
  tenants: 100_000,
  latRate: 1000,
  latWarmS: 5,
  latS: 30,
  // How long a constant-rate phase waits for its last deliveries, and how long the next phase
  // waits for an earlier one's leftovers: bounds, so a slow relay gives figures, not a hung run.
  waitMs: 60_000,
  settleMs: 60_000,
  backlog: 100_000,
  drainTimeoutMs: 180_000,
  noisyBacklog: 50_000,
  noisyOthers: 1000,
  noisyRate: 500,
  noisyWarmS: 5,
  noisyS: 20,
  pgTenants: 10_000,
  pgRate: 500,
  pgWarmS: 5,
  pgS: 20,
  probes: 5,
};
const QUICK = {
  tenants: 500,
  latRate: 1000,
  latWarmS: 3,
  latS: 7,
  waitMs: 15_000,
  settleMs: 10_000,
  backlog: 5000,
  drainTimeoutMs: 20_000,
  noisyBacklog: 2000,
  noisyOthers: 250,
  noisyRate: 500,
  noisyWarmS: 3,
  noisyS: 7,
  pgTenants: 300,
  pgRate: 500,
  pgWarmS: 3,
  pgS: 7,
  probes: 3,
};

/** Admin writes in flight while provisioning: enough to keep the relay busy, not so many that they only queue. */
const PROVISION_CONCURRENCY = 32;
const BATCH = 500;
const BATCH_CONNS = 4;

const tenantId = (i) => `t${String(i).padStart(6, '0')}`;
const randomTenant = (n) => tenantId(Math.floor(Math.random() * n));

let receiver;

/**
 * The relay's config besides storage: tenants' endpoints are held to the blocked ranges whatever
 * delivery.* says, so the loopback receiver must be allowed under tenants.allowed_networks; the
 * bounds are raised so a tenant's subscription may wait 30 min on the receiver's closed gate
 * (backlogs) and the noisy neighbour may ask for 256 attempts in flight, as many as the whole relay.
 */
function relayOpts() {
  const ok = `http://127.0.0.1:${receiver.info.okPort}`;
  return {
    subs: [
      // 3's single subscription: only events of type single.* (sent without tenant) reach it.
      { id: 'single', url: `${ok}/lat`, events: ['single.*'], max_in_flight: 256, timeout: '30m' },
      // Present like a platform's own consumer, but the bench never sends its types: it costs
      // what an idle subscription costs, without doubling every delivery.
      { id: 'audit', url: `${ok}/ok`, events: ['audit.*'], max_in_flight: 64 },
    ],
    tenants: ['  allowed_networks: ["127.0.0.0/8"]', '  subscription_bounds: { timeout: 30m, max_in_flight: 256 }'],
  };
}

const ADMIN_HEADERS = { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` };

/** One admin API call; an answer other than `expect` stops the phase (its figures would be wrong). */
async function call(pool, method, path, body, expect) {
  const res = await pool.request({ method, path, headers: ADMIN_HEADERS, body: JSON.stringify(body) });
  const answer = await res.body.text();
  if (!expect.includes(res.statusCode)) throw new Error(`${method} ${path} answered ${res.statusCode}: ${answer.slice(0, 300)}`);
  return answer;
}

/** PUT /tenants/{id} then POST /subscriptions with that tenant, for `ids`, spread over `bases` round-robin. */
async function provision(bases, ids, subFor, label) {
  const pools = bases.map((b) => new Pool(b, { connections: PROVISION_CONCURRENCY }));
  let next = 0;
  let lastReport = 0;
  const started = nowUs();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= ids.length) return;
      const pool = pools[i % pools.length];
      const id = ids[i];
      await call(pool, 'PUT', `/api/v1/tenants/${id}`, { name: `bench ${id}` }, [200, 201]);
      await call(pool, 'POST', '/api/v1/subscriptions', { tenant: id, ...subFor(id) }, [201]);
      if (i + 1 - lastReport >= ids.length / 10) {
        lastReport = i + 1;
        const s = (nowUs() - started) / 1e6;
        progress(
          `    ${label}: ${(i + 1).toLocaleString('en-US')} / ${ids.length.toLocaleString('en-US')} tenants (${Math.round((i + 1) / s)}/s)`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: PROVISION_CONCURRENCY * bases.length }, worker));
  await Promise.all(pools.map((p) => p.close()));
  const seconds = (nowUs() - started) / 1e6;
  return { tenants: ids.length, seconds, rate: ids.length / seconds };
}

/** Ingests `total` events made by event(i) through POST /ingest/batch. */
async function ingestBatches(base, total, event) {
  const pool = new Pool(base, { connections: BATCH_CONNS });
  const batches = Math.ceil(total / BATCH);
  let next = 0;
  const started = nowUs();
  const worker = async () => {
    for (;;) {
      const b = next++;
      if (b >= batches) return;
      const events = [];
      for (let i = b * BATCH; i < Math.min(total, (b + 1) * BATCH); i++) events.push(event(i));
      const res = await pool.request({
        path: '/ingest/batch',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        body: JSON.stringify({ events }),
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`POST /ingest/batch answered ${res.statusCode}: ${text.slice(0, 300)}`);
    }
  };
  await Promise.all(Array.from({ length: BATCH_CONNS }, worker));
  await pool.close();
  const seconds = (nowUs() - started) / 1e6;
  return { events: total, seconds, rate: total / seconds };
}

/**
 * A backlog the relay cannot deliver yet (the receiver's gate is closed: the first claimed
 * attempts are held unanswered, the rest wait), then the gate opens and the clock runs until
 * `total` deliveries are answered: (answered − held at opening) ÷ (Nth answer − opening), both
 * timed by the receiver, as 4 of the main bench does. Only deliveries tagged `tag` count.
 */
async function backlogDrain(relay, tag, total, event, timeoutMs) {
  await receiver.rpc('gate', { open: false });
  progress(`    ${tag}: ingesting a backlog of ${total.toLocaleString('en-US')}`);
  const ingest = await ingestBatches(relay.base, total, (i) => {
    const e = event(i);
    return { ...e, data: { ...e.data, p: tag } };
  });
  await sleep(500); // let the dispatcher claim what the gate will hold
  progress(`    ${tag}: backlog ingested in ${ingest.seconds.toFixed(1)} s; opening the gate`);
  const ticker = setInterval(() => {
    receiver.rpc('stats', { tag }).then(
      (s) => progress(`    ... ${s.count.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} delivered`),
      () => {},
    );
  }, 10_000);
  const gate = await receiver.rpc('gate', { open: true, tag });
  const waited = await receiver.rpc('wait', { target: total, timeoutMs, tag });
  clearInterval(ticker);
  // Unfinished: the whole time limit, not the receiver's last answer (which may be another tag's, or
  // from before the gate opened when none of this backlog arrived).
  const seconds = ((waited.reached ? waited.at : nowUs()) - gate.at) / 1e6;
  if (!waited.reached) progress(`    ${tag}: only ${waited.count} of ${total} delivered within ${timeoutMs / 1000} s`);
  return {
    target: total,
    delivered: waited.count,
    reached: waited.reached,
    heldAtOpen: gate.released,
    seconds,
    rate: (waited.count - gate.released) / seconds,
    ingest,
  };
}

/**
 * Waits (up to ms) for the deliveries an earlier phase still owes (`owed`: {tag, expected}), so
 * they do not compete with the next one; returns how many were still missing (0: a clean start).
 */
async function settle(owed, ms) {
  if (!owed) return 0;
  const w = await receiver.rpc('wait', { target: owed.expected, timeoutMs: ms, tag: owed.tag });
  const missing = owed.expected - w.count;
  if (missing > 0)
    progress(`    ${missing.toLocaleString('en-US')} deliveries of ${owed.tag} still waiting after ${ms / 1000} s; going on`);
  return Math.max(0, missing);
}

/** Runs fn, recording its result (or its error) under results[key]; returns the result or undefined. */
async function step(results, key, title, fn) {
  progress(`--- ${title}`);
  const started = Date.now();
  try {
    const r = await fn();
    results[key] = r;
    progress(`    ${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return r;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    progress(`    ${title}: FAILED: ${message}`);
    results.errors.push({ key, title, message });
    results[key] = { error: message };
    return undefined;
  }
}

// ---- SQLite: 1-4 on one populated data dir ------------------------------------------------------

async function sqliteRun(S, results) {
  const dir = makeTempDir('tenants');
  const opts = { ...relayOpts(), synchronous: 'full', dir };
  const ok = `http://127.0.0.1:${receiver.info.okPort}`;
  try {
    const populated = await step(
      results,
      'populate',
      `0. populate: ${S.tenants.toLocaleString('en-US')} tenants, one subscription each`,
      async () => {
        // Populated with synchronous: normal (every admin write is its own transaction; fsyncing
        // each would make setup, not a target, take an hour); measured below with full.
        const relay = await startRelay('tenants-populate', { ...opts, synchronous: 'normal', readyPollMs: 10 });
        try {
          const ids = Array.from({ length: S.tenants }, (_, i) => tenantId(i));
          // /lat both times latency (2, 4) and is held by the closed gate (3); 30 min outlasts any gate.
          const r = await provision([relay.base], ids, () => ({ url: `${ok}/lat`, events: ['*'], timeout: '30m' }), 'populate');
          // The noisy neighbour of 4: every attempt hangs until the 10 s timeout, with as many in flight as the relay has.
          await provision(
            [relay.base],
            ['noisy'],
            () => ({ url: `http://127.0.0.1:${receiver.info.hangPort}/hang`, events: ['*'], timeout: '10s', max_in_flight: 256 }),
            'noisy',
          );
          // The first start, on an empty data dir (migrations included): the baseline for 1.
          return { ...r, emptyReadyMs: relay.readyMs };
        } finally {
          await relay.terminate();
        }
      },
    );
    if (!populated) return;
    results.populate.dbBytes = fileBytes(join(dir, 'hookrelay.db')) + fileBytes(join(dir, 'hookrelay.db-wal'));

    // 1. The restart an operator does: a clean stop above, then a fresh process over the data dir.
    progress('--- 1. start-up over the populated data dir');
    const relay = await startRelay('tenants', { ...opts, readyPollMs: 10, readyTimeoutMs: 120_000 });
    let peakRss = 0;
    // The peak of each phase too (latency, single, spread, noisy), to tell which one sets it.
    const peaks = {};
    let phase = 'latency';
    let sampler;
    try {
      results.startup = { readyMs: relay.readyMs, listeningMs: relay.listeningMs };
      progress(`    /readyz 200 after ${relay.readyMs.toFixed(0)} ms; idle 3 s for RSS`);
      await sleep(3000);
      results.startup.rssIdle = rssBytes(relay.pid);
      // "While delivering": the peak over 2, 3 and 4, sampled every 100 ms.
      sampler = setInterval(() => {
        const rss = rssBytes(relay.pid) ?? 0;
        peakRss = Math.max(peakRss, rss);
        peaks[phase] = Math.max(peaks[phase] ?? 0, rss);
      }, 100);

      // Each phase tags its events (data.p) and says what it still owes; the next waits for that first.
      let owed;
      const latency = await step(results, 'latency', `2. latency at ${S.latRate}/s to random tenants`, async () => {
        await receiver.rpc('gate', { open: true });
        return constantRate({
          bases: [relay.base],
          receiver,
          rate: S.latRate,
          warmS: S.latWarmS,
          measureS: S.latS,
          waitMs: S.waitMs,
          answerWaitMs: S.waitMs,
          tag: 'latency',
          event: (t) => ({ type: 'order.created', tenant: randomTenant(S.tenants), data: { t } }),
        });
      });
      if (latency) owed = { tag: 'latency', expected: latency.sent - latency.errors };

      await step(
        results,
        'drain',
        `3. drain of ${S.backlog.toLocaleString('en-US')}: one subscription, then spread over every tenant`,
        async () => {
          const leftoverBefore = await settle(owed, S.settleMs);
          phase = 'single';
          owed = { tag: 'single', expected: S.backlog };
          const single = await backlogDrain(
            relay,
            'single',
            S.backlog,
            (i) => ({ type: 'single.backlog', data: { n: i } }),
            S.drainTimeoutMs,
          );
          single.leftoverBefore = leftoverBefore;
          const spreadLeftover = await settle(owed, S.settleMs);
          phase = 'spread';
          owed = { tag: 'spread', expected: S.backlog };
          const spread = await backlogDrain(
            relay,
            'spread',
            S.backlog,
            (i) => ({ type: 'order.created', tenant: tenantId(i % S.tenants), data: { n: i } }),
            S.drainTimeoutMs,
          );
          spread.leftoverBefore = spreadLeftover;
          return { single, spread, ratio: single.rate > 0 ? spread.rate / single.rate : null };
        },
      );

      await step(results, 'noisy', `4. noisy neighbour: ${S.noisyOthers} tenants at ${S.noisyRate}/s beside a hanging one`, async () => {
        const leftoverBefore = await settle(owed, S.settleMs);
        phase = 'noisy';
        await receiver.rpc('gate', { open: true });
        const ingest = await ingestBatches(relay.base, S.noisyBacklog, (i) => ({ type: 'order.created', tenant: 'noisy', data: { n: i } }));
        await sleep(1000); // the noisy tenant's attempts are now hanging
        const before = await receiver.rpc('stats');
        const r = await constantRate({
          bases: [relay.base],
          receiver,
          rate: S.noisyRate,
          warmS: S.noisyWarmS,
          measureS: S.noisyS,
          waitMs: S.waitMs,
          answerWaitMs: S.waitMs,
          tag: 'noisy',
          event: (t) => ({ type: 'order.created', tenant: randomTenant(S.noisyOthers), data: { t } }),
        });
        const after = await receiver.rpc('stats');
        return { ...r, ingest, hungBefore: before.hung, hungAfter: after.hung, leftoverBefore };
      });
    } finally {
      clearInterval(sampler);
      results.startup.rssDelivering = peakRss || null;
      results.startup.rssPeaks = peaks;
      // SIGTERM first: a relay run with --cpu-prof (HOOKRELAY_BENCH_NODE_ARGS) writes its profile then.
      await relay.terminate(15_000);
      await relay.stop();
    }
  } finally {
    removeTempDir(dir);
  }
}

function fileBytes(path) {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

// ---- Postgres: 5 --------------------------------------------------------------------------------

async function postgresRun(S, url, results) {
  const pg = (await import('pg')).default;
  const admin = new pg.Pool({ connectionString: url, max: 2 });
  // A fresh schema of our own, as the Postgres section does: nothing left from another run counts.
  const schema = `hookrelay_bench_tenants_${process.pid}`;
  const relays = [];
  try {
    results.pgVersion = (await admin.query('SHOW server_version')).rows[0].server_version;
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.query(`CREATE SCHEMA ${schema}`);
    const scoped = new URL(url);
    scoped.searchParams.set('options', `-c search_path=${schema}`);
    const opts = { ...relayOpts(), postgresUrl: scoped.toString() };
    // One after another: the first migrates, the second finds the schema ready.
    relays.push(await startRelay('pg-a', opts));
    relays.push(await startRelay('pg-b', opts));
    const [a, b] = relays;
    const ok = `http://127.0.0.1:${receiver.info.okPort}`;
    const populated = await step(
      results,
      'pgPopulate',
      `5. Postgres: ${S.pgTenants.toLocaleString('en-US')} tenants through both instances`,
      () =>
        provision(
          [a.base, b.base],
          Array.from({ length: S.pgTenants }, (_, i) => tenantId(i)),
          () => ({ url: `${ok}/lat`, events: ['*'], timeout: '30m' }),
          'pg populate',
        ),
    );
    if (!populated) return;
    let owed;
    const latency = await step(
      results,
      'pgLatency',
      `5. Postgres: latency at ${S.pgRate}/s, ingest alternating between the instances`,
      async () => {
        await receiver.rpc('gate', { open: true });
        return constantRate({
          bases: [a.base, b.base],
          receiver,
          rate: S.pgRate,
          warmS: S.pgWarmS,
          measureS: S.pgS,
          waitMs: S.waitMs,
          answerWaitMs: S.waitMs,
          tag: 'pg-latency',
          event: (t) => ({ type: 'order.created', tenant: randomTenant(S.pgTenants), data: { t } }),
        });
      },
    );
    if (latency) owed = { tag: 'pg-latency', expected: latency.sent - latency.errors };
    await step(results, 'pgPropagation', '5. Postgres: subscription created on A, events ingested through B', async () => {
      // After the latency run's last deliveries: a relay still busy with them would time that, not the propagation.
      const leftoverBefore = await settle(owed, S.settleMs);
      return { ...(await propagation(a, b, S.probes)), leftoverBefore };
    });
  } finally {
    // SIGTERM first: a relay run with --cpu-prof (HOOKRELAY_BENCH_NODE_ARGS) writes its profile then.
    for (const r of relays) await r.terminate(5000);
    for (const r of relays) await r.stop();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
    await admin.end();
  }
}

/**
 * For each probe: a new tenant record on A; events for it ingested through B every 50 ms from
 * before the subscription exists; the subscription created on A (to the receiver's /probe/<k>).
 * The figure is the first arrival at /probe/<k> minus the moment A answered 201: it includes one
 * delivery's latency and up to 50 ms of the ingest clock. Apart, the fan-out alone: the first
 * ingest through B that answered `deliveries: 1` (B saw the subscription), by its send time.
 */
async function propagation(a, b, probes) {
  const poolA = new Pool(a.base, { connections: 2 });
  const poolB = new Pool(b.base, { connections: 8 });
  const delaysMs = [];
  const fanoutMs = [];
  try {
    for (let k = 0; k < probes; k++) {
      const tenant = `probe-${process.pid}-${k}`;
      const path = `/probe/${tenant}`;
      await call(poolA, 'PUT', `/api/v1/tenants/${tenant}`, { name: tenant }, [201]);
      let createdAt = Infinity;
      let firstFanout = null;
      // On a clock, not one after another: a slow ingest answer must not space the events out.
      const sent = [];
      const ingestB = () => {
        const sentAt = nowUs();
        sent.push(
          poolB
            .request({
              path: '/ingest',
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
              body: JSON.stringify({ type: 'probe.ping', tenant, data: {} }),
            })
            .then(async (res) => {
              const answer = res.statusCode === 202 ? JSON.parse(await res.body.text()) : (await res.body.dump(), {});
              if (answer.deliveries > 0 && (firstFanout === null || sentAt < firstFanout)) firstFanout = sentAt;
            })
            .catch(() => {}),
        );
      };
      const loop = setInterval(ingestB, 50);
      await sleep(200);
      await call(
        poolA,
        'POST',
        '/api/v1/subscriptions',
        { tenant, url: `http://127.0.0.1:${receiver.info.okPort}${path}`, events: ['probe.*'] },
        [201],
      );
      createdAt = nowUs();
      let at = null;
      while (at === null && nowUs() - createdAt < 10e6) {
        await sleep(5);
        at = (await receiver.rpc('probe', { path })).at;
      }
      clearInterval(loop);
      await Promise.all(sent);
      const ms = at === null ? null : (at - createdAt) / 1000;
      // An ingest sent just before the 201 arrived may already see the subscription: 0, not negative.
      const fan = firstFanout === null ? null : Math.max(0, (firstFanout - createdAt) / 1000);
      progress(
        `    probe ${k + 1}/${probes}: ${ms === null ? 'no delivery within 10 s' : `first delivery ${ms.toFixed(0)} ms`}, fan-out on B ${fan === null ? 'never' : `${fan.toFixed(0)} ms`} after the 201 on A`,
      );
      delaysMs.push(ms);
      fanoutMs.push(fan);
    }
  } finally {
    await poolA.close();
    await poolB.close();
  }
  const seen = delaysMs.filter((d) => d !== null);
  const fans = fanoutMs.filter((d) => d !== null);
  return {
    probes,
    delaysMs,
    fanoutMs,
    medianMs: seen.length ? median(seen) : null,
    maxMs: seen.length === probes ? Math.max(...seen) : null,
    fanoutMaxMs: fans.length === probes ? Math.max(...fans) : null,
  };
}

// ---- the report ---------------------------------------------------------------------------------

const fmt = (n, digits = 0) =>
  n == null || Number.isNaN(n)
    ? 'n/a'
    : Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes) => (bytes == null ? 'n/a' : `${fmt(bytes / 1e6, 1)} MB`);
const ms = (v) => (v == null ? 'n/a' : `${fmt(v, v < 10 ? 2 : 1)} ms`);
const verdict = (met) => (met == null ? 'n/a' : met ? '**met**' : '**not met**');
const good = (x) => x && !x.error;
const leftover = (x) =>
  x.leftoverBefore > 0
    ? `started with ${fmt(x.leftoverBefore)} deliveries of the previous phase still owed (not counted here, but competing); `
    : '';
const failed = (x) => (x?.error ? `failed: ${x.error.split('\n')[0].slice(0, 120)}` : 'not measured');

function reportText(r, S, argsLine) {
  const rows = [];
  const details = [];
  const row = (n, what, figure, target, met) => rows.push(`| ${n} | ${what} | ${figure} | ${target} | ${verdict(met)} |`);
  const N = fmt(S.tenants);

  if (good(r.startup)) {
    const s = r.startup;
    row(1, `relay start-up over ${N} tenants to \`/readyz\` 200`, `${fmt(s.readyMs / 1000, 2)} s`, '< 3 s', s.readyMs < 3000);
    row(1, 'relay RSS idle (3 s after start-up)', mb(s.rssIdle), '< 300 MB', s.rssIdle == null ? null : s.rssIdle < 300e6);
    row(
      1,
      'relay RSS while delivering (peak over 2-4)',
      mb(s.rssDelivering),
      '< 400 MB',
      s.rssDelivering == null ? null : s.rssDelivering < 400e6,
    );
    const peaks = Object.entries(s.rssPeaks ?? {});
    if (peaks.length > 0) details.push(`- **1 RSS peak per phase**: ${peaks.map(([k, v]) => `${k} ${mb(v)}`).join(', ')}.`);
  } else row(1, 'start-up and RSS', failed(r.populate?.error ? r.populate : r.startup), '< 3 s, < 300 MB, < 400 MB', null);

  const latRows = (n, l, rate, label) => {
    if (!good(l)) {
      row(n, `${label} latency`, failed(l), 'p50 < 10 ms, p99 < 50 ms', null);
      return;
    }
    row(
      n,
      `${label} ingest→receiver latency at ${fmt(rate)} events/s to random tenants`,
      `p50 ${ms(l.p50)} · p99 ${ms(l.p99)}`,
      'p50 < 10 ms, p99 < 50 ms',
      l.p50 != null && l.p50 < 10 && l.p99 < 50,
    );
    row(n, `${label} every event delivered`, `${fmt(l.delivered)} of ${fmt(l.sent)}`, 'all', l.delivered >= l.sent && l.errors === 0);
    details.push(
      `- **${n} ${label} latency**: ${fmt(l.sent)} events sent (${fmt(l.errors)} errors${l.firstError ? `, first: \`${l.firstError.slice(0, 100)}\`` : ''}), ${fmt(l.delivered)} delivered, ${fmt(l.samples)} timed after the ${l.warmUpS} s warm-up: p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)}; with the warm-up p99 ${ms(l.withWarmUpP99)}, max ${ms(l.withWarmUpMax)}. Ingest answer (202): p50 ${ms(l.ackP50)}, p99 ${ms(l.ackP99)}. Generator lateness: p99 ${ms(l.lagP99)}, max ${ms(l.lagMax)}.`,
    );
  };
  latRows(2, r.latency, S.latRate, 'SQLite');

  if (good(r.drain)) {
    const d = r.drain;
    row(
      3,
      `drain of a ${fmt(S.backlog)}-event backlog spread over every tenant vs to one subscription`,
      `${fmt(d.spread.rate)} vs ${fmt(d.single.rate)} deliveries/s (${d.ratio == null ? 'ratio n/a' : `${fmt(d.ratio, 2)}×`})`,
      '≥ 0.8×',
      d.ratio >= 0.8 && d.spread.reached && d.single.reached,
    );
    for (const [name, x] of [
      ['one subscription', d.single],
      ['spread', d.spread],
    ])
      details.push(
        `- **3 ${name}**: ${leftover(x)}${fmt(x.target)} events ingested in ${fmt(x.ingest.seconds, 1)} s (${fmt(x.ingest.rate)}/s through \`/ingest/batch\`); ${fmt(x.heldAtOpen)} held at the gate; ${fmt(x.delivered)} answered ${fmt(x.seconds, 2)} s after it opened${x.reached ? '' : ' (**did not finish** within the time limit: the rate is of those that arrived, over the whole limit)'}.`,
      );
  } else row(3, 'drain, spread vs one subscription', failed(r.drain), '≥ 0.8×', null);

  if (good(r.noisy)) {
    const q = r.noisy;
    row(
      4,
      `p99 of ${fmt(S.noisyOthers)} tenants at ${fmt(S.noisyRate)} events/s beside one whose endpoint hangs with ${fmt(S.noisyBacklog)} waiting`,
      `p99 ${ms(q.p99)} (p50 ${ms(q.p50)})`,
      'p99 < 100 ms',
      q.p99 != null && q.p99 < 100 && q.delivered >= q.sent,
    );
    details.push(
      `- **4 noisy neighbour**: ${leftover(q)}the hanging tenant's ${fmt(S.noisyBacklog)} events ingested in ${fmt(q.ingest.seconds, 1)} s; its endpoint had received ${fmt(q.hungBefore)} requests when the load started and ${fmt(q.hungAfter)} at the end. The others: ${fmt(q.sent)} events sent (${fmt(q.errors)} errors), ${fmt(q.delivered)} delivered; p50 ${ms(q.p50)}, p90 ${ms(q.p90)}, p99 ${ms(q.p99)}, max ${ms(q.max)} after the ${q.warmUpS} s warm-up; ingest answer (202) p50 ${ms(q.ackP50)}, p99 ${ms(q.ackP99)} (what of the latency is ingest, not delivery).`,
    );
  } else row(4, 'noisy neighbour', failed(r.noisy), 'p99 < 100 ms', null);

  if (r.postgres) {
    const p = r.postgres;
    if (good(p.pgPopulate)) {
      latRows(5, p.pgLatency, S.pgRate, `Postgres, 2 instances, ${fmt(S.pgTenants)} tenants:`);
      details.push(
        `- **5 Postgres provisioning**: ${fmt(S.pgTenants)} tenants and subscriptions through both instances in ${fmt(p.pgPopulate.seconds, 1)} s (${fmt(p.pgPopulate.rate)} tenants/s; PostgreSQL ${p.pgVersion}).`,
      );
    } else row(5, 'Postgres', failed(p.pgPopulate ?? { error: p.error }), '', null);
    if (good(p.pgPropagation)) {
      const q = p.pgPropagation;
      row(
        5,
        `subscription created on instance A → first delivery of an event ingested through B (${q.probes} probes)`,
        `max ${ms(q.maxMs)} (median ${ms(q.medianMs)})`,
        '< 1 s',
        q.maxMs == null ? false : q.maxMs < 1000,
      );
      details.push(
        `- **5 propagation**: ${leftover(q)}first delivery after the 201 on A, each probe: ${q.delaysMs.map((d) => (d == null ? 'none within 10 s' : ms(d))).join(', ')}; the first ingest through B that fanned out to it was sent ${q.fanoutMs.map((d) => (d == null ? 'never' : ms(d))).join(', ')} after the 201 (B's view of the subscription, without the delivery).`,
      );
    } else if (good(p.pgPopulate)) row(5, 'propagation between instances', failed(p.pgPropagation), '< 1 s', null);
  } else row(5, 'Postgres, 2 instances', 'not run (no `--postgres` or HOOKRELAY_TEST_POSTGRES_URL)', '', null);

  if (good(r.startup) && good(r.populate))
    details.unshift(
      `- **1 start-up**: the process answered its first \`/readyz\` poll (of any status) ${ms(r.startup.listeningMs)} after spawn and \`/readyz\` 200 at ${ms(r.startup.readyMs)}; the first start of the same config on an empty data dir (migrations included) was ready in ${ms(r.populate.emptyReadyMs)}.`,
    );
  if (good(r.populate))
    details.unshift(
      `- **Provisioning** (not a target): ${N} tenants, each \`PUT /api/v1/tenants/{id}\` then \`POST /api/v1/subscriptions\`, ${PROVISION_CONCURRENCY} at once, in ${fmt(r.populate.seconds, 1)} s (${fmt(r.populate.rate)} tenants/s); database and WAL ${mb(r.populate.dbBytes)}.`,
    );
  for (const e of r.errors) details.push(`- **${e.title} failed**: \`${e.message.split('\n')[0].slice(0, 200)}\``);
  const met = rows.filter((x) => x.endsWith('| **met** |')).length;
  const judged = rows.filter((x) => x.includes('**met**') || x.includes('**not met**')).length;

  return `Measured by \`${argsLine}\` on ${r.startedAt.toISOString()} in ${fmt((r.finishedAt - r.startedAt) / 1000)} s (HEAD ${headCommit()}), on the machine above; 1-minute load average ${fmt(r.loadAtStart, 1)} at the start and ${fmt(r.loadAtEnd, 1)} at the end.${
    r.mode === 'quick'
      ? `\n\n**This is a \`--quick\` run** (${N} tenants instead of 100,000, ${fmt(S.backlog)}-event backlogs, shorter measurements): the figures are indicative, not the targets' verdict.`
      : ''
  }

${met} of ${judged} targets met.

| # | measurement | figure | target | |
|---|---|---|---|---|
${rows.join('\n')}

${details.join('\n')}

Method: one relay (the built bundle, SQLite with \`synchronous: full\`, \`delivery.concurrency: 256\`,
standard-webhooks signing, \`log.level: warn\`) is populated through the admin API (with
\`synchronous: normal\` for that step only) with ${N} tenants
(\`t000000\`…), each with one subscription to the receiver (\`events: ["*"]\`, default
\`max_in_flight\`), plus a noisy tenant and two platform subscriptions from the config: \`single\`
(only \`single.*\`, 3's single subscription, \`max_in_flight: 256\`) and \`audit\` (a type never sent).
Tenants' endpoints are held to the blocked ranges, so the config allows \`127.0.0.0/8\` under
\`tenants.allowed_networks\` and raises \`tenants.subscription_bounds\` (30 min timeout, so requests
held by the receiver's closed gate never time out; 256 in flight for the noisy tenant). The relay is
stopped with SIGTERM and a new process started over the same data dir: 1 is the time from spawn to
the first \`/readyz\` 200 (polled every 10 ms), its RSS (VmRSS) 3 s later, and the peak sampled every
100 ms through 2-4. 2 and 4 send events on a clock with each one's send time in \`data.t\` (the
generator of 5 in the main bench), each to a tenant drawn at random, and the receiver times each
arrival; the warm-up is not counted. 3 builds each backlog while the receiver holds its requests,
first ${fmt(S.backlog)} events without tenant (only \`single\` matches), then ${fmt(S.backlog)} events
spread evenly over every tenant (one delivery to each tenant's subscription, round-robin), and
times from opening the gate to the last answer. In 4 the noisy tenant's subscription (256 in flight,
10 s timeout) points at the receiver's port that never answers; its backlog is ingested first, then
${fmt(S.noisyOthers)} other tenants get events at a constant rate. 5 runs two instances on a fresh
schema of the Postgres server (provisioning and ingest alternate between them), then ${S.probes} times:
a new tenant on A, events for it ingested through B every 50 ms, its subscription created on A; the
figure is the receiver's first arrival minus A's 201 answer (the details also give when B's fan-out
first saw the subscription). A phase waits (boundedly) for the deliveries the previous one still
owes before it starts, and counts only its own (each event is tagged in \`data.p\`). Every process shares the same 2 cores.`;
}

function headCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Runs the tenant bench and writes its section of outFile. postgresUrl: undefined skips 5.
 * Returns the process exit code: 1 when a measurement failed, else 0 (targets missed included).
 */
export async function tenantsMain({ quick, outFile, postgresUrl, argsLine, tenants, postgresOnly = false }) {
  // --tenants N: another SQLite population (e.g. to see how a figure grows with it), the rest as the mode says.
  const S = { ...(quick ? QUICK : FULL), ...(tenants && { tenants, noisyOthers: Math.min(tenants, (quick ? QUICK : FULL).noisyOthers) }) };
  // The load average says how much of the 2 cores others were using: these figures move with it.
  const results = { mode: quick ? 'quick' : 'full', startedAt: new Date(), loadAtStart: loadavg()[0], errors: [], postgres: null };
  progress(`tenant bench, ${results.mode} mode: ${S.tenants.toLocaleString('en-US')} tenants${postgresUrl ? '; Postgres too' : ''}`);
  receiver = await forkWithIpc(join(HERE, 'receiver.mjs'), [], 'receiver');
  try {
    try {
      if (!postgresOnly) await sqliteRun(S, results);
    } catch (err) {
      // A relay that would not start (the restart of 1 included): recorded, and 5 still runs.
      const message = err instanceof Error ? err.message : String(err);
      progress(`    SQLite: FAILED: ${message}`);
      results.errors.push({ key: 'sqlite', title: 'SQLite relay', message });
      results.startup ??= { error: message };
    }
    if (postgresUrl) {
      results.postgres = { errors: results.errors };
      try {
        await postgresRun(S, postgresUrl, results.postgres);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        progress(`    Postgres: FAILED: ${message}`);
        results.errors.push({ key: 'postgres', title: '5. Postgres', message });
        results.postgres.error = message;
      }
    }
  } finally {
    await stopChild(receiver);
  }
  results.finishedAt = new Date();
  results.loadAtEnd = loadavg()[0];
  const text = reportText(results, S, argsLine);
  writeSection(outFile, TENANTS_HEADING, text);
  console.log(`\n${text.split('\n\nMethod:')[0]}\n`);
  progress(`wrote the Tenants section of ${outFile}`);
  return results.errors.length > 0 ? 1 : 0;
}

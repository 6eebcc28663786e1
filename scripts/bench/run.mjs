#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --out FILE] [-- --only KEYS] [-- --postgres]`: measures hookrelay against bare-Node ceilings on this
// machine and writes BENCHMARKS.md (see scripts/bench/report.mjs for what it says about the method).
// `npm run bench -- --only tenants [--quick] [--postgres [URL]] [--tenants N]` is the tenant-scale bench
// instead (scripts/bench/tenants.mjs), which writes only the "Tenants" section of BENCHMARKS.md
// (--tenants N: that many tenants on SQLite instead of 100,000, or 500 with --quick; --postgres-only
// --out FILE: only its Postgres part, to investigate it).
//
// Processes: this one (load generator: autocannon for closed-loop HTTP load, undici for the bare
// delivery loop, the backlog builder and the constant-rate latency generator), one receiver
// (scripts/bench/receiver.mjs, bare node:http), and one relay child per measurement
// (dist/hookrelay.mjs serve, generated YAML config, its own temp data dir). Every child is
// SIGKILLed when this process exits, on error too.
import autocannon from 'autocannon';
import { Pool, request } from 'undici';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ADMIN_TOKEN,
  BUNDLE,
  constantRate,
  coreBound,
  cpuUs,
  HERE,
  INGEST_TOKEN,
  ROOT,
  forkWithIpc,
  median,
  nowUs,
  postgresPids,
  progress,
  rssBytes,
  startRelay,
  stopChild,
} from './lib.mjs';
import { writePostgresSection, writeReport } from './report.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const outIdx = argv.indexOf('--out');
const outFile = outIdx >= 0 ? argv[outIdx + 1] : join(ROOT, 'BENCHMARKS.md');
// `--only latency,batch`: run just these phases (keys as in results.phases), for investigating one
// figure; the report then shows the others as not measured, so write it elsewhere with --out.
// `--only tenants` is the tenant-scale bench (scripts/bench/tenants.mjs): it writes its own section
// of BENCHMARKS.md, as --postgres does, so it needs no --out.
const onlyIdx = argv.indexOf('--only');
const only = onlyIdx >= 0 ? new Set(argv[onlyIdx + 1].split(',')) : null;
if (only?.has('tenants') && only.size > 1) {
  console.error('--only tenants runs alone: it is a bench of its own with its own section');
  process.exit(2);
}
// `--postgres [URL]`: the URL, else HOOKRELAY_TEST_POSTGRES_URL, else the local test server.
const pgIdx = argv.indexOf('--postgres');
const pgArg = pgIdx >= 0 && /^postgres(ql)?:\/\//.test(argv[pgIdx + 1] ?? '') ? argv[pgIdx + 1] : undefined;
const postgresUrl = pgArg ?? process.env.HOOKRELAY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
if (only && !only.has('tenants') && outIdx < 0) {
  console.error('--only needs --out FILE: BENCHMARKS.md is written from full runs only');
  process.exit(2);
}

const DELIVERY_CONCURRENCY = 256;
const P = quick
  ? {
      warmS: 0.5,
      warmDeliveries: 5_000,
      loadS: 2,
      ingestConns: 64,
      batchSize: 500,
      batchConns: 4,
      batchS: 2,
      backlog: 10_000,
      latRate: 2000,
      latWarmS: 4,
      latS: 3,
      bigBacklog: 100_000,
      isoBacklog: 10_000,
      adminRuns: 5,
      drainTimeoutMs: 30_000,
    }
  : {
      warmS: 2,
      warmDeliveries: 20_000,
      loadS: 10,
      ingestConns: 64,
      batchSize: 500,
      batchConns: 4,
      batchS: 10,
      backlog: 50_000,
      latRate: 2000,
      latWarmS: 5,
      latS: 10,
      bigBacklog: 1_000_000,
      isoBacklog: 50_000,
      adminRuns: 7,
      drainTimeoutMs: 180_000,
    };

const EVENT = { type: 'order.created', data: { order_id: 'ord_1234567890', amount: '100.00', currency: 'EUR', customer: 'cus_abcdef' } };
const EVENT_BODY = JSON.stringify(EVENT);
const BATCH_BODY = JSON.stringify({ events: Array.from({ length: P.batchSize }, () => EVENT) });
// What the relay sends per delivery, roughly: the envelope and standard-webhooks headers.
const ENVELOPE_BODY = JSON.stringify({
  id: 'evt_01JBENCHBENCHBENCHBENCHBE',
  type: EVENT.type,
  timestamp: new Date().toISOString(),
  data: EVENT.data,
});

if (!existsSync(BUNDLE)) {
  console.error(`${BUNDLE} is missing: run \`npm run build\` first`);
  process.exit(1);
}

const results = {
  mode: quick ? 'quick' : 'full',
  params: { ...P, deliveryConcurrency: DELIVERY_CONCURRENCY },
  startedAt: new Date(),
  phases: {},
  errors: [],
};

let receiver;

async function phase(key, title, fn) {
  if (only && !only.has(key)) return;
  progress(`--- ${title}`);
  const started = Date.now();
  try {
    results.phases[key] = await fn();
    progress(`    ${title}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    progress(`    ${title}: FAILED: ${message}`);
    results.errors.push({ key, title, message });
    results.phases[key] = { error: message };
  }
}

// ---- load helpers ------------------------------------------------------------------------------

async function cannon({ url, body, connections, seconds, headers = {} }) {
  const r = await autocannon({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: r['2xx'] / r.duration,
    ok: r['2xx'],
    non2xx: r.non2xx,
    errors: r.errors,
    timeouts: r.timeouts,
    seconds: r.duration,
    latencyP50: r.latency.p50,
    latencyP99: r.latency.p99,
  };
}

/** Closed-loop autocannon run after a warm-up run of the same shape. */
async function warmAndMeasure(opts, label) {
  if (P.warmS > 0) await cannon({ ...opts, seconds: P.warmS });
  progress(`    ${label}: measuring ${opts.connections} connections for ${P.loadS} s`);
  return cannon({ ...opts, seconds: opts.seconds ?? P.loadS });
}

/** Ingests `total` events through POST /ingest/batch (P.batchSize per request, P.batchConns at once). */
async function ingestBacklog(relay, total, label) {
  const pool = new Pool(relay.base, { connections: P.batchConns });
  const batches = Math.ceil(total / P.batchSize);
  let next = 0;
  let done = 0;
  let lastReport = 0;
  const started = nowUs();
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= batches) return;
      const n = Math.min(P.batchSize, total - i * P.batchSize);
      const body = n === P.batchSize ? BATCH_BODY : JSON.stringify({ events: Array.from({ length: n }, () => EVENT) });
      const res = await pool.request({
        path: '/ingest/batch',
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${INGEST_TOKEN}` },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 202) throw new Error(`POST /ingest/batch answered ${res.statusCode}: ${text.slice(0, 300)}`);
      done += n;
      if (total >= 100_000 && done - lastReport >= total / 10) {
        lastReport = done;
        const s = (nowUs() - started) / 1e6;
        progress(
          `    ${label}: ${done.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} events ingested (${Math.round(done / s).toLocaleString('en-US')} events/s)`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: P.batchConns }, worker));
  const seconds = (nowUs() - started) / 1e6;
  await pool.close();
  return { events: total, seconds, rate: total / seconds };
}

/**
 * Opens the receiver's gate and times how long the relay takes until `target` deliveries are
 * answered. `cpuOf`: the relay processes whose CPU time to account per delivery (with the
 * receiver's, and the Postgres server's when `postgres`).
 */
async function drain(target, { sampleRssOf, cpuOf = [], postgres = false, timeoutMs = P.drainTimeoutMs } = {}) {
  let peakRss = 0;
  const ticker = setInterval(() => {
    receiver.rpc('stats').then(
      (s) => progress(`    ... ${s.count.toLocaleString('en-US')} / ${target.toLocaleString('en-US')} delivered`),
      () => {},
    );
  }, 5000);
  const sampler = sampleRssOf
    ? setInterval(() => {
        peakRss = Math.max(peakRss, rssBytes(sampleRssOf) ?? 0);
      }, 100)
    : undefined;
  const pgBefore = postgres ? postgresPids() : [];
  const cpuBefore = { relay: cpuUs(cpuOf), receiver: cpuUs([receiver.pid]), postgres: cpuUs(pgBefore) };
  const gate = await receiver.rpc('gate', { open: true });
  const waited = await receiver.rpc('wait', { target, timeoutMs });
  const pgAfter = postgres ? [...new Set([...pgBefore, ...postgresPids()])] : [];
  const cpuAfter = { relay: cpuUs(cpuOf), receiver: cpuUs([receiver.pid]), postgres: cpuUs(pgAfter) };
  if (sampler) clearInterval(sampler);
  clearInterval(ticker);
  const seconds = (waited.at - gate.at) / 1e6;
  const counted = waited.count - gate.released;
  // CPU per delivery over the drain (every thread of each process); the held requests were sent before it.
  const perDelivery = (key) => (cpuAfter[key] - cpuBefore[key]) / counted;
  const cpu = cpuOf.length > 0 ? { relayUs: perDelivery('relay'), receiverUs: perDelivery('receiver') } : undefined;
  if (cpu && postgres) cpu.postgresUs = perDelivery('postgres');
  if (!waited.reached) {
    progress(`    only ${waited.count} of ${target} deliveries arrived within ${timeoutMs / 1000} s`);
  }
  return {
    target,
    delivered: waited.count,
    reached: waited.reached,
    heldAtOpen: gate.released,
    seconds,
    rate: counted / seconds,
    peakRss: sampleRssOf ? peakRss : undefined,
    cpu,
  };
}

async function adminFirstPage(relay, runs) {
  const times = [];
  let rows = null;
  for (let i = 0; i < runs; i++) {
    const t = nowUs();
    const res = await request(`${relay.base}/api/v1/deliveries?limit=50`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const text = await res.body.text();
    const ms = (nowUs() - t) / 1000;
    if (res.statusCode !== 200) throw new Error(`GET /api/v1/deliveries answered ${res.statusCode}: ${text.slice(0, 300)}`);
    rows = JSON.parse(text).data?.length ?? null;
    times.push(ms);
  }
  return { medianMs: median(times), minMs: Math.min(...times), maxMs: Math.max(...times), runs, rows };
}

async function timedGet(relay, path) {
  const t = nowUs();
  const res = await request(`${relay.base}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.body.text();
  return { ms: (nowUs() - t) / 1000, status: res.statusCode, body: text };
}

function gatedSub(id) {
  // A long timeout: the requests held by the closed gate must not time out while the backlog builds.
  return { id, url: `http://127.0.0.1:${receiver.info.okPort}/ok`, max_in_flight: DELIVERY_CONCURRENCY, timeout: '30m' };
}

/**
 * 1b: an undici Pool of DELIVERY_CONCURRENCY connections and as many POST loops to the receiver
 * (gate open), after a warm-up run: requests/s, and CPU per request of this process and the receiver.
 */
async function bareUndici() {
  await receiver.rpc('gate', { open: true });
  const pool = new Pool(`http://127.0.0.1:${receiver.info.okPort}`, { connections: DELIVERY_CONCURRENCY });
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'hookrelay-bench',
    'webhook-id': 'evt_01JBENCHBENCHBENCHBENCHBE',
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  };
  const loop = async (seconds) => {
    const until = nowUs() + seconds * 1e6;
    let count = 0;
    let errors = 0;
    const worker = async () => {
      while (nowUs() < until) {
        try {
          const res = await pool.request({ path: '/ok', method: 'POST', headers, body: ENVELOPE_BODY });
          await res.body.dump();
          if (res.statusCode === 200) count++;
          else errors++;
        } catch {
          errors++;
        }
      }
    };
    const t = nowUs();
    const client = process.cpuUsage();
    const received = cpuUs([receiver.pid]);
    await Promise.all(Array.from({ length: DELIVERY_CONCURRENCY }, worker));
    const s = (nowUs() - t) / 1e6;
    const { user, system } = process.cpuUsage(client);
    // CPU per request: this process (the loop) and the receiver, as drain() accounts a delivery's.
    const cpu = { clientUs: (user + system) / count, receiverUs: (cpuUs([receiver.pid]) - received) / count };
    return { rps: count / s, ok: count, errors, seconds: s, cpu };
  };
  await loop(P.warmS);
  progress(`    bare undici: measuring ${DELIVERY_CONCURRENCY} in flight for ${P.loadS} s`);
  const r = await loop(P.loadS);
  await pool.close();
  return r;
}

/**
 * Delivers P.warmDeliveries events through a relay that has just started, with the receiver's gate
 * open, then resets the receiver and closes its gate; returns how many requests the hang port got
 * meanwhile (the reset clears that count). A drain is timed on a warm relay, as the bare
 * loop (1b) is after its warm-up run: a fresh process spends its first seconds of delivering
 * compiling its hot paths (the first 10,000 deliveries of a cold relay go at one half to three
 * quarters of its later rate).
 */
async function warmUp(relay, name) {
  let hung = 0;
  if (P.warmDeliveries > 0) {
    progress(`    relay ${name}: warming up with ${P.warmDeliveries.toLocaleString('en-US')} deliveries`);
    await ingestBacklog(relay, P.warmDeliveries, `${name} warm-up`);
    const warm = await receiver.rpc('wait', { target: P.warmDeliveries, timeoutMs: P.drainTimeoutMs });
    if (!warm.reached) throw new Error(`relay ${name}: only ${warm.count} of the warm-up's deliveries arrived`);
    await sleep(200); // the last results are written
    hung = (await receiver.rpc('stats')).hung;
  }
  await receiver.rpc('reset');
  await receiver.rpc('gate', { open: false });
  return { hung };
}

/** Starts a relay, warms it up (warmUp) and ingests a backlog it cannot deliver yet (the receiver's gate is closed). */
async function relayWithBacklog(name, subs, events) {
  await receiver.rpc('gate', { open: true });
  await receiver.rpc('reset');
  const relay = await startRelay(name, { subs });
  const warm = await warmUp(relay, name);
  progress(`    relay ${name} (pid ${relay.pid}) on port ${relay.port}; ingesting a backlog of ${events.toLocaleString('en-US')} events`);
  const ingest = await ingestBacklog(relay, events, name);
  await sleep(300); // let the dispatcher claim what the gate will hold
  return { relay, ingest, warm };
}

// ---- the run -----------------------------------------------------------------------------------

async function main() {
  progress(`mode: ${results.mode}; relay bundle ${BUNDLE}`);
  receiver = await forkWithIpc(join(HERE, 'receiver.mjs'), [], 'receiver');
  progress(`receiver (pid ${receiver.pid}) on ports ${receiver.info.okPort} (answers 200) and ${receiver.info.hangPort} (never answers)`);

  // 1a. bare Hono POST handler
  await phase('bareHono', '1a. bare Hono POST handler (JSON.parse, 202)', async () => {
    const hono = await forkWithIpc(join(HERE, 'bare-hono.mjs'), [], 'bare-hono');
    try {
      return await warmAndMeasure(
        { url: `http://127.0.0.1:${hono.info.port}/ingest`, body: EVENT_BODY, connections: P.ingestConns },
        'bare Hono',
      );
    } finally {
      await stopChild(hono);
    }
  });

  // 1b. bare undici POST loop to the receiver
  await phase('bareUndici', `1b. bare undici POST loop to the receiver (${DELIVERY_CONCURRENCY} in flight)`, bareUndici);

  // 2. durable ingest, deliveries running to the receiver
  await phase('ingest', '2. durable ingest (synchronous: full, one matching subscription)', async () => {
    await receiver.rpc('gate', { open: true });
    await receiver.rpc('reset');
    const relay = await startRelay('ingest', {
      subs: [{ id: 'bench', url: `http://127.0.0.1:${receiver.info.okPort}/ok`, max_in_flight: DELIVERY_CONCURRENCY }],
    });
    try {
      const r = await warmAndMeasure(
        { url: `${relay.base}/ingest`, body: EVENT_BODY, connections: P.ingestConns, headers: { authorization: `Bearer ${INGEST_TOKEN}` } },
        'ingest',
      );
      const stats = await receiver.rpc('stats');
      r.deliveredDuringRun = stats.count;
      r.rss = rssBytes(relay.pid);
      return r;
    } finally {
      await relay.stop();
    }
  });

  // 3. batch ingest (gate closed: deliveries are created, but held, so this is ingest alone)
  await phase('batch', `3. batch ingest (${P.batchSize} events per request)`, async () => {
    await receiver.rpc('reset');
    await receiver.rpc('gate', { open: false });
    const relay = await startRelay('batch', { subs: [gatedSub('bench')] });
    try {
      const r = await warmAndMeasure(
        {
          url: `${relay.base}/ingest/batch`,
          body: BATCH_BODY,
          connections: P.batchConns,
          seconds: P.batchS,
          headers: { authorization: `Bearer ${INGEST_TOKEN}` },
        },
        'batch ingest',
      );
      return { ...r, eventsPerSecond: r.rps * P.batchSize, batchSize: P.batchSize };
    } finally {
      await relay.stop();
      await receiver.rpc('gate', { open: true });
    }
  });

  // 4. delivery throughput from a pre-ingested backlog
  await phase('delivery', `4. delivery from a backlog of ${P.backlog.toLocaleString('en-US')}`, async () => {
    const { relay, ingest } = await relayWithBacklog('delivery', [gatedSub('bench')], P.backlog);
    try {
      const admin = await adminFirstPage(relay, P.adminRuns);
      const rssHeld = rssBytes(relay.pid);
      progress(`    opening the gate: delivering ${P.backlog.toLocaleString('en-US')}`);
      const d = await drain(P.backlog, { sampleRssOf: relay.pid, cpuOf: [relay.pid] });
      return { ...d, ingest, admin, rssHeld };
    } finally {
      // SIGTERM first: a relay run with --cpu-prof (HOOKRELAY_BENCH_NODE_ARGS) writes its profile then.
      await relay.terminate(5000);
      await relay.stop();
    }
  });

  // 5. ingest → receiver latency at a constant rate
  await phase('latency', `5. ingest→receiver latency at ${P.latRate.toLocaleString('en-US')} events/s`, async () => {
    await receiver.rpc('gate', { open: true });
    await receiver.rpc('reset');
    const relay = await startRelay('latency', {
      subs: [{ id: 'bench', url: `http://127.0.0.1:${receiver.info.okPort}/lat`, max_in_flight: DELIVERY_CONCURRENCY }],
    });
    try {
      return await constantRate({
        bases: [relay.base],
        receiver,
        rate: P.latRate,
        warmS: P.latWarmS,
        measureS: P.latS,
        event: (t) => ({ type: EVENT.type, data: { ...EVENT.data, t } }),
      });
    } finally {
      await relay.stop();
    }
  });

  // 6. the same with a big backlog: throughput, RSS, admin first page
  await phase('bigBacklog', `6. delivery with ${P.bigBacklog.toLocaleString('en-US')} waiting`, async () => {
    const { relay, ingest } = await relayWithBacklog('backlog', [gatedSub('bench')], P.bigBacklog);
    try {
      progress(`    backlog built at ${Math.round(ingest.rate).toLocaleString('en-US')} events/s; timing the admin API`);
      const rssHeld = rssBytes(relay.pid);
      const admin = await adminFirstPage(relay, P.adminRuns);
      const stats = await timedGet(relay, '/api/v1/stats');
      let backlogPerStats = null;
      try {
        const s = JSON.parse(stats.body);
        backlogPerStats = s.backlog ?? s.totals?.backlog ?? null;
      } catch {
        // shape unknown
      }
      progress(`    opening the gate: timing the first ${P.backlog.toLocaleString('en-US')} deliveries`);
      const d = await drain(P.backlog, { sampleRssOf: relay.pid, cpuOf: [relay.pid] });
      const rssAfter = rssBytes(relay.pid);
      return {
        ...d,
        waiting: P.bigBacklog,
        ingest,
        admin,
        rssHeld,
        rssAfter,
        statsMs: stats.ms,
        statsStatus: stats.status,
        backlogPerStats,
      };
    } finally {
      await relay.stop();
    }
  });

  // 7. isolation: healthy subscription alone, then beside one whose receiver never answers
  await phase('isolation', '7. isolation (healthy subscription beside one that never answers)', async () => {
    const hangUrl = `http://127.0.0.1:${receiver.info.hangPort}/hang`;
    const run = async (name, hangEnabled) => {
      const subs = [
        gatedSub('healthy'),
        { id: 'hanging', url: hangUrl, enabled: hangEnabled, max_in_flight: DELIVERY_CONCURRENCY, timeout: '10s' },
      ];
      const { relay, warm } = await relayWithBacklog(name, subs, P.isoBacklog);
      try {
        progress(`    ${name}: opening the gate`);
        const d = await drain(P.isoBacklog, { cpuOf: [relay.pid] });
        const stats = await receiver.rpc('stats');
        return { ...d, hangingRequests: warm.hung + stats.hung };
      } finally {
        await relay.stop();
      }
    };
    const solo = await run('iso-solo', false);
    const withHang = await run('iso-hang', true);
    return { solo, withHang, ratio: withHang.rate / solo.rate };
  });
}

/**
 * `npm run bench -- --postgres`: delivery throughput from one backlog with 1, 2 and 3 relay
 * instances on one Postgres database (HOOKRELAY_TEST_POSTGRES_URL or the local server), each
 * instance with the same config as 4 (256 attempts in flight). Writes its own section of
 * BENCHMARKS.md and leaves the rest of the file alone.
 */
async function postgresMain() {
  const pg = (await import('pg')).default;
  const base = postgresUrl;
  const admin = new pg.Pool({ connectionString: base, max: 2 });
  receiver = await forkWithIpc(join(HERE, 'receiver.mjs'), [], 'receiver');
  const backlog = quick ? 10_000 : 40_000;
  const runs = [];
  let bare;
  try {
    progress('--- bare undici POST loop to the receiver (the ceiling of this run)');
    bare = await bareUndici();
    for (const n of [1, 2, 3]) {
      const schema = `hookrelay_bench_${process.pid}_${n}`;
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.query(`CREATE SCHEMA ${schema}`);
      const url = new URL(base);
      url.searchParams.set('options', `-c search_path=${schema}`);
      await receiver.rpc('gate', { open: true });
      await receiver.rpc('reset');
      const relays = [];
      try {
        progress(`--- Postgres: ${n} instance${n > 1 ? 's' : ''}, backlog of ${backlog.toLocaleString('en-US')}`);
        // One after another: the first migrates, the others find the schema ready.
        for (let i = 0; i < n; i++)
          relays.push(await startRelay(`pg-${n}-${i}`, { postgresUrl: url.toString(), subs: [gatedSub('bench')] }));
        // Every instance claims from the one backlog, so the warm-up through the first warms them all.
        await warmUp(relays[0], `pg-${n}`);
        const ingest = await ingestBacklog(relays[0], backlog, `pg-${n}`);
        await sleep(1000); // every instance claims what the gate will hold
        const drained = await drain(backlog, { cpuOf: relays.map((r) => r.pid), postgres: true });
        progress(
          `    ${n} instance${n > 1 ? 's' : ''}: ${Math.round(drained.rate).toLocaleString('en-US')} deliveries/s (${drained.heldAtOpen} held at the gate)`,
        );
        runs.push({ n, ingest, ...drained });
      } finally {
        // SIGTERM first: a relay run with --cpu-prof (HOOKRELAY_BENCH_NODE_ARGS) writes its profile then.
        for (const r of relays) await r.terminate(5000);
        for (const r of relays) await r.stop();
        await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      }
    }
  } finally {
    await stopChild(receiver);
    await admin.end();
  }
  const one = runs.find((r) => r.n === 1)?.rate;
  const fmt = (x) => Math.round(x).toLocaleString('en-US');
  const cpuOf = (r) => r.cpu.relayUs + r.cpu.postgresUs + r.cpu.receiverUs;
  const bound = coreBound(cpuOf(runs[0]));
  const { rows } = await (async () => {
    const client = new pg.Client({ connectionString: base });
    await client.connect();
    try {
      return await client.query('SHOW server_version');
    } finally {
      await client.end();
    }
  })();
  const text = `Measured by \`npm run bench -- --postgres\`${quick ? ' --quick' : ''} on ${new Date().toISOString()} (HEAD ${headCommit()}),
PostgreSQL ${rows[0].server_version} on the same 2-core machine, over TCP on 127.0.0.1.

| instances | delivery from a backlog of ${fmt(backlog)} | vs 1 instance | vs bare undici | CPU per delivery: relay · Postgres · receiver | held at the gate |
|---|---|---|---|---|---|
${runs.map((r) => `| ${r.n} | ${fmt(r.rate)} deliveries/s | ${one ? (r.rate / one).toFixed(2) : 'n/a'}× | ${(r.rate / bare.rps).toFixed(2)}× | ${fmt(r.cpu.relayUs)} · ${fmt(r.cpu.postgresUs)} · ${fmt(r.cpu.receiverUs)} µs | ${r.heldAtOpen} |`).join('\n')}

Bare undici in the same run (as 1b, 256 in flight): ${fmt(bare.rps)} requests/s, with ${fmt(bare.cpu.clientUs)} µs
of CPU per request in the loop and ${fmt(bare.cpu.receiverUs)} µs in the receiver. With one instance a delivery
took ${fmt(cpuOf(runs[0]))} µs of CPU in all: were all ${bound.cores} cores busy with nothing else, that allows at most
${fmt(bound.rate)} deliveries/s, ${(bound.rate / bare.rps).toFixed(2)}× of bare undici.

Method: as 4 above, with \`storage.postgres\` instead of SQLite. Each instance is the built bundle
with 256 attempts in flight, warmed up with ${fmt(P.warmDeliveries)} deliveries before its backlog is
built; the backlog is ingested through the first instance while the receiver holds its requests (each
instance leases up to 256 deliveries the gate holds); the clock starts when the gate opens, and the
figure is the deliveries answered after it, divided by the time to the last one. CPU per delivery is
each process's CPU time over the drain (user and system, every thread, from \`/proc\`; relay: every
instance; Postgres: every server process) divided by the deliveries. Every instance, the database
server and the receiver share the same 2 cores: a second and a third instance add no CPU here, and
each adds its own claims and round trips, so what the figures show is that instances share one
backlog without stalling each other (claims skip the rows another instance holds instead of waiting
for them), not how the work scales on separate machines. Before completions were batched (one
guarded update and one insert per delivery), one instance did 1,356 deliveries/s here and three
2,574/s: it was waiting on round trips, and more instances helped.`;
  writePostgresSection(outFile, text);
  progress(`wrote the Postgres section of ${outFile}`);
}

function headCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

if (only?.has('tenants')) {
  const tenantsArg = argv.includes('--tenants') ? Number(argv[argv.indexOf('--tenants') + 1]) : undefined;
  if (tenantsArg !== undefined && !(Number.isInteger(tenantsArg) && tenantsArg > 0 && tenantsArg < 1e6)) {
    console.error('--tenants needs a whole number of tenants, 1 to 999,999');
    process.exit(2);
  }
  // --postgres-only: just 5 (investigating it); like --only it needs --out, the section would lack 1-4.
  const postgresOnly = argv.includes('--postgres-only');
  if (postgresOnly && outIdx < 0) {
    console.error('--postgres-only needs --out FILE: BENCHMARKS.md is written from full runs only');
    process.exit(2);
  }
  const { tenantsMain } = await import('./tenants.mjs');
  try {
    process.exitCode = await tenantsMain({
      quick,
      outFile,
      // Postgres (5) only when asked for: with --postgres [URL] or HOOKRELAY_TEST_POSTGRES_URL.
      postgresUrl: pgIdx >= 0 || process.env.HOOKRELAY_TEST_POSTGRES_URL ? postgresUrl : undefined,
      argsLine: `npm run bench -- ${argv.filter((a) => a !== pgArg).join(' ')}`,
      tenants: tenantsArg,
      postgresOnly,
    });
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  }
  process.exit();
}

if (argv.includes('--postgres')) {
  try {
    await postgresMain();
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  }
  process.exit();
}

try {
  await main();
} catch (err) {
  console.error(err);
  results.errors.push({ key: 'main', title: 'bench', message: err instanceof Error ? err.message : String(err) });
} finally {
  await stopChild(receiver);
}
results.finishedAt = new Date();
const { summary } = writeReport(outFile, results);
console.log(`\n${summary}`);
progress(`wrote ${outFile}`);
process.exitCode = results.errors.length > 0 ? 1 : 0;

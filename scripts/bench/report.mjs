// Writes BENCHMARKS.md from the results of scripts/bench/run.mjs. The file is overwritten on every
// run, except the "Where the time goes" section, whose text is carried over from the old file so
// profile notes written by people survive re-runs.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { BUNDLE, coreBound, ROOT } from './lib.mjs';

const TIME_HEADING = '## Where the time goes';
/** Written by `npm run bench -- --postgres` (writePostgresSection); a full run carries it over. */
export const POSTGRES_HEADING = '## Postgres: several instances';
/** Written by `npm run bench -- --only tenants` (scripts/bench/tenants.mjs); a full run carries it over. */
export const TENANTS_HEADING = '## Tenants';
const TIME_PLACEHOLDER = `_Not written yet._ Profile the relay under this load (\`node --cpu-prof dist/hookrelay.mjs serve --config FILE\`
while \`npm run bench\` or autocannon drives it) and write here where the remaining time goes. \`npm run bench\`
keeps this section's text when it rewrites the file.`;

const METHOD = `## Method

Everything runs on this one machine over 127.0.0.1, in one \`npm run bench\` run, in this order:

- **Processes.** The bench process is the load generator: [autocannon](https://github.com/mcollina/autocannon)
  (programmatic API, closed loop) for 1a, 2 and 3; undici (the HTTP client the relay itself delivers
  with) for the bare delivery loop 1b, for building backlogs through \`POST /ingest/batch\`, and for the
  constant-rate generator of 5. The **receiver** (\`scripts/bench/receiver.mjs\`) is a bare \`node:http\`
  server in its own process that answers \`200\` as soon as a request's body has arrived and counts
  requests (reported over IPC); a second port of it reads requests and never answers. Each relay is
  the built bundle, \`node dist/hookrelay.mjs serve\`, as a child process with a generated YAML config
  and its own temporary data directory, started fresh for each measurement and SIGKILLed after it.
- **Relay config.** \`storage.sqlite.synchronous: full\` (every acknowledged event is fsynced),
  \`delivery.concurrency: 256\`, \`max_in_flight: 256\` on every subscription, \`events: ["*"]\`,
  standard-webhooks signing (every delivery is signed), \`delivery.allow_private_networks: true\`,
  bearer tokens on ingest and admin. \`log.level: warn\`: at \`info\` the relay writes one JSON line per
  attempt, which costs delivery throughput; a production setup that keeps \`info\` will see less.
- **1a bare Hono**: \`scripts/bench/bare-hono.mjs\`, a Hono app on @hono/node-server (the relay's own
  HTTP stack) whose POST handler reads the body, \`JSON.parse\`s it and answers \`202\` with a small JSON
  body; loaded with the same client, body and connection count as 2. **1b bare undici**: an undici
  \`Pool\` with 256 connections and 256 concurrent POST loops (an envelope-sized body and
  standard-webhooks-like headers) to the receiver, i.e. the delivery concurrency of the relay with
  nothing else: no store, no signing, no claims.
- **2 durable ingest**: single-event \`POST /ingest\` with a bearer token, one matching subscription
  pointed at the receiver, so deliveries run during the measurement as they would in production.
  Each measured run is preceded by a warm-up run of the same shape (not counted).
- **3 batch ingest**: \`POST /ingest/batch\` with 500 events per request; the subscription matches (so
  every event creates a delivery in the same transaction) but the receiver holds its requests, so the
  figure is ingest alone without delivery competing for the CPU.
- **4, 6, 7 delivery throughput from a backlog.** A disabled subscription gets no deliveries at all
  (the relay only fans out to enabled subscriptions), so a backlog cannot be built by ingesting while
  disabled. Instead the receiver's gate is closed: the relay claims up to 256 deliveries whose requests
  the receiver holds unanswered (the subscription's timeout is 30 min so they do not time out), and
  every other delivery waits as \`pending\`. Before the backlog is built, each relay delivers 20,000
  events (5,000 with \`--quick\`) with the gate open: the drain is timed on a warm process, as 1b is
  after its warm-up run (a relay that has just started delivers its first 10,000 at one half to
  three quarters of its later rate while V8 compiles its hot paths). Opening the gate answers the
  held requests and the clock starts; the figure is (deliveries answered − those held) ÷ (time of
  the Nth answer − gate opening), both timed by the receiver. CPU per delivery (4) is the relay's
  and the receiver's CPU time over the drain (user and system, every thread, from
  \`/proc/<pid>/stat\`) divided by the deliveries; 1b gives the same per request for its loop and
  the receiver. 6 times the same number of deliveries as 4, but with the big backlog waiting behind
  them, reads the relay's RSS from \`/proc/<pid>/status\` (VmRSS, once with the backlog
  held and sampled every 100 ms while it delivers; the target is checked against the peak), and times
  \`GET /api/v1/deliveries?limit=50\` (the admin API's first page, whole answer read, median of several).
  7 runs twice with two subscriptions on every event: once with the second disabled, once with it
  enabled and pointed at the receiver's port that never answers (timeout 10 s, max_in_flight 256, the
  same as the healthy one, so only the dispatcher's fair sharing protects the healthy one). The two
  receivers are different origins, as two real receivers would be.
- **5 latency**: events are sent on a clock at a fixed rate (a timer every millisecond sends the
  events that are due; the sender never waits for answers, up to 128 connections), each carrying its
  send time (\`process.hrtime\`, CLOCK_MONOTONIC, the same clock in every process) in \`data.t\`; the
  receiver subtracts it from the arrival time of the delivery. The first seconds are a warm-up and
  not counted (5 s; 4 s with \`--quick\`): a freshly started relay spends them compiling its hot paths
  (V8's optimising compiler), with stalls of up to a few hundred ms that a relay running for days
  does not have; the details give the p99 with the warm-up included. The
  ingest answer latency seen by the sender and the generator's own lateness are shown too.

## Caveats

- **Two cores, three busy processes.** The load generator, the relay and the receiver share the 2
  cores, so every figure (the ceilings too) is lower than the same program would reach with the load
  generator on another machine; the ratios are the meaningful part. The ceilings pay the same tax: 1a
  shares the cores with autocannon, 1b with the receiver.
- The ceilings do less than the relay by design: the relay also authenticates, validates, writes and
  fsyncs SQLite, signs, and records every attempt.
- Durations are short (seconds), on a shared virtual machine: expect run-to-run noise of ±10 %.
- \`--quick\` uses 2-second runs and small backlogs (100,000 instead of 1,000,000 waiting in 6); its
  figures are for day-to-day comparison, not for the targets.`;

/** coreBound of a drain's CPU per delivery (relay and receiver), and that as a share of 1b. */
function deliveryBound(d, bare) {
  const { cores, rate } = coreBound(d.cpu.relayUs + d.cpu.receiverUs);
  return { cores, rate, ofBare: bare && !bare.error ? rate / bare.rps : null };
}

function fmt(n, digits = 0) {
  if (n == null || Number.isNaN(n)) return 'n/a';
  return Number(n).toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
const mb = (bytes) => (bytes == null ? 'n/a' : `${fmt(bytes / 1e6, 1)} MB`);
const ms = (v) => (v == null ? 'n/a' : `${fmt(v, v < 10 ? 2 : 1)} ms`);
const ratio = (v) => (v == null || Number.isNaN(v) ? 'n/a' : `${fmt(v, 2)}×`);
const verdict = (ok) => (ok == null ? 'n/a' : ok ? '**met**' : '**not met**');

function machine() {
  const cpus = os.cpus();
  let commit = 'unknown';
  let dirty = '';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    try {
      execFileSync('git', ['diff', '--quiet', 'HEAD', '--', 'src'], { cwd: ROOT });
    } catch {
      dirty = ' (src/ has uncommitted changes)';
    }
  } catch {
    // not a git checkout
  }
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    ram: os.totalmem(),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    commit: commit + dirty,
    built: existsSync(BUNDLE) ? statSync(BUNDLE).mtime.toISOString() : 'unknown',
  };
}

function preservedTimeSection(path) {
  if (!existsSync(path)) return TIME_PLACEHOLDER;
  const old = readFileSync(path, 'utf8');
  const start = old.indexOf(`\n${TIME_HEADING}`);
  if (start < 0) return TIME_PLACEHOLDER;
  const after = old.slice(start + 1 + TIME_HEADING.length);
  const next = after.search(/^## /m);
  const text = (next < 0 ? after : after.slice(0, next)).trim();
  return text.length > 0 ? text : TIME_PLACEHOLDER;
}

export function writeReport(path, results) {
  const m = machine();
  const p = results.phases;
  const P = results.params;
  const ok = (x) => x && !x.error;
  const rows = [];
  const checks = [];
  const row = (n, what, figure, vs, target, met) => rows.push(`| ${n} | ${what} | ${figure} | ${vs} | ${target} | ${met} |`);
  const check = (name, met) => checks.push({ name, met });

  const hono = ok(p.bareHono) ? p.bareHono.rps : null;
  const undici = ok(p.bareUndici) ? p.bareUndici.rps : null;
  row(
    '1a',
    `bare Hono POST handler (JSON.parse, 202), ${P.ingestConns} connections`,
    hono == null ? failed(p.bareHono) : `${fmt(hono)} req/s`,
    'ceiling',
    '',
    '',
  );
  row(
    '1b',
    `bare undici POST loop to the receiver, ${P.deliveryConcurrency} in flight`,
    undici == null ? failed(p.bareUndici) : `${fmt(undici)} req/s`,
    'ceiling',
    '',
    '',
  );

  if (ok(p.ingest)) {
    const r = hono ? p.ingest.rps / hono : null;
    const met = r == null ? null : r >= 0.6;
    check('ingest ≥ 0.6 × bare Hono', met);
    row(
      '2',
      `durable ingest, \`POST /ingest\`, synchronous: full, ${P.ingestConns} connections`,
      `${fmt(p.ingest.rps)} req/s`,
      `${ratio(r)} of 1a`,
      '≥ 0.6 × 1a',
      verdict(met),
    );
  } else row('2', 'durable ingest', failed(p.ingest), '', '≥ 0.6 × 1a', 'n/a');

  if (ok(p.batch)) {
    const met = p.batch.eventsPerSecond >= 50_000;
    check('batch ingest ≥ 50,000 events/s', met);
    row(
      '3',
      `batch ingest, ${P.batchSize} events per request, ${P.batchConns} connections`,
      `${fmt(p.batch.eventsPerSecond)} events/s`,
      '',
      '≥ 50,000 events/s',
      verdict(met),
    );
  } else row('3', 'batch ingest', failed(p.batch), '', '≥ 50,000 events/s', 'n/a');

  if (ok(p.delivery)) {
    const r = undici ? p.delivery.rate / undici : null;
    // Issue 5's target, then issue 16's (it asks for less): one row each, the same figure.
    for (const [target, label] of [
      [0.6, `delivery from a backlog of ${fmt(P.backlog)}`],
      [0.4, "the same, against issue 16's target"],
    ]) {
      const met = r == null ? null : r >= target;
      check(`delivery ≥ ${target} × bare undici`, met);
      row('4', label, `${fmt(p.delivery.rate)} deliveries/s`, `${ratio(r)} of 1b`, `≥ ${target} × 1b`, verdict(met));
    }
  } else row('4', 'delivery from a backlog', failed(p.delivery), '', '≥ 0.6 × 1b', 'n/a');

  if (ok(p.latency)) {
    const met = p.latency.p50 != null && p.latency.p50 < 5 && p.latency.p99 < 25;
    check('latency p50 < 5 ms and p99 < 25 ms', met);
    row(
      '5',
      `ingest→receiver latency at ${fmt(p.latency.rate)} events/s (constant rate)`,
      `p50 ${ms(p.latency.p50)} · p99 ${ms(p.latency.p99)}`,
      '',
      'p50 < 5 ms, p99 < 25 ms',
      verdict(met),
    );
  } else row('5', 'ingest→receiver latency', failed(p.latency), '', 'p50 < 5 ms, p99 < 25 ms', 'n/a');

  const small = ok(p.delivery) ? p.delivery.rate : null;
  const quickNote = results.mode === 'quick' ? ' (quick: not the 1M of the target)' : '';
  if (ok(p.bigBacklog)) {
    const b = p.bigBacklog;
    const r = small ? b.rate / small : null;
    const met = r == null ? null : r >= 0.8;
    check(`delivery with ${fmt(b.waiting)} waiting within 20 % of 4`, met);
    row(
      '6',
      `delivery with ${fmt(b.waiting)} waiting${quickNote}`,
      `${fmt(b.rate)} deliveries/s`,
      `${ratio(r)} of 4`,
      '≥ 0.8 × 4',
      verdict(met),
    );
    const peak = Math.max(b.peakRss ?? 0, b.rssHeld ?? 0, b.rssAfter ?? 0) || null;
    const rssMet = peak == null ? null : peak < 250e6;
    check('RSS < 250 MB', rssMet);
    row(
      '6',
      `relay RSS with ${fmt(b.waiting)} waiting (peak while delivering)`,
      mb(peak),
      `held: ${mb(b.rssHeld)}`,
      '< 250 MB',
      verdict(rssMet),
    );
    const adminMet = b.admin.medianMs < 50;
    check('first admin page < 50 ms', adminMet);
    row(
      '6',
      `admin API first page \`GET /api/v1/deliveries?limit=50\` with ${fmt(b.waiting)} waiting`,
      ms(b.admin.medianMs),
      `median of ${b.admin.runs}`,
      '< 50 ms',
      verdict(adminMet),
    );
  } else row('6', 'big backlog', failed(p.bigBacklog), '', '', 'n/a');

  if (ok(p.isolation)) {
    const iso = p.isolation;
    const met = iso.ratio >= 0.9;
    check('isolation ≥ 0.9', met);
    row(
      '7',
      `healthy subscription beside one that never answers (backlog ${fmt(P.isoBacklog)})`,
      `${fmt(iso.withHang.rate)} vs ${fmt(iso.solo.rate)} alone`,
      ratio(iso.ratio),
      '≥ 0.9',
      verdict(met),
    );
  } else row('7', 'isolation', failed(p.isolation), '', '≥ 0.9', 'n/a');

  const metCount = checks.filter((c) => c.met === true).length;
  const details = detailLines(results);
  const dur = ((results.finishedAt - results.startedAt) / 1000).toFixed(0);

  const md = `# Benchmarks

Generated by \`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\` (\`scripts/bench/run.mjs\`) on ${results.startedAt.toISOString()}
in ${dur} s; the whole file is rewritten on every run except the section "Where the time goes".${
    results.mode === 'quick'
      ? "\n\n**This is a `--quick` run**: 2-second measurements and a 100,000-delivery backlog instead of 1,000,000 in 6; the figures are indicative, not the targets' verdict."
      : ''
  }

## Machine

| | |
|---|---|
| CPU | ${m.cpu} |
| cores | ${m.cores} |
| RAM | ${fmt(m.ram / 2 ** 30, 1)} GiB |
| Node.js | ${m.node} |
| OS | ${m.os} |
| date | ${results.startedAt.toISOString().slice(0, 10)} |
| relay | \`dist/hookrelay.mjs\` built ${m.built}; HEAD at run time ${m.commit} |

## Results

${metCount} of ${checks.length} targets met${results.errors.length ? `; ${results.errors.length} measurement(s) failed (see Details)` : ''}.

| # | measurement | figure | ratio | target | |
|---|---|---|---|---|---|
${rows.join('\n')}

Targets are from issue 5, except 4's second row (issue 16). "MB" is 10^6 bytes.

## Details

${details.join('\n')}

${METHOD}

${TIME_HEADING}

${preservedTimeSection(path)}
${preservedSection(path, POSTGRES_HEADING) ?? ''}${preservedSection(path, TENANTS_HEADING) ?? ''}`;
  writeFileSync(path, md);
  const summary = ['Results:', ...rows.map((r) => r.replace(/\*\*/g, '')), `${metCount} of ${checks.length} targets met.`].join('\n');
  return { summary };
}

function failed(x) {
  return x?.error ? `failed: ${x.error.split('\n')[0].slice(0, 120)}` : 'not run';
}

function detailLines(results) {
  const p = results.phases;
  const out = [];
  const cannonLine = (name, r) =>
    `- **${name}**: ${fmt(r.ok)} answered 2xx in ${fmt(r.seconds, 1)} s (${fmt(r.non2xx)} non-2xx, ${fmt(r.errors)} errors, ${fmt(r.timeouts)} timeouts); client-side latency p50 ${fmt(r.latencyP50, 1)} ms, p99 ${fmt(r.latencyP99, 1)} ms.`;
  if (p.bareHono && !p.bareHono.error) out.push(cannonLine('1a bare Hono', p.bareHono));
  if (p.bareUndici && !p.bareUndici.error)
    out.push(
      `- **1b bare undici**: ${fmt(p.bareUndici.ok)} requests answered 200 in ${fmt(p.bareUndici.seconds, 1)} s (${fmt(p.bareUndici.errors)} errors); CPU per request ${fmt(p.bareUndici.cpu.clientUs)} µs in the loop, ${fmt(p.bareUndici.cpu.receiverUs)} µs in the receiver.`,
    );
  if (p.ingest && !p.ingest.error) {
    out.push(cannonLine('2 durable ingest', p.ingest));
    out.push(
      `  During the measured and warm-up runs the receiver got ${fmt(p.ingest.deliveredDuringRun)} deliveries; relay RSS at the end ${mb(p.ingest.rss)}.`,
    );
  }
  if (p.batch && !p.batch.error) out.push(cannonLine(`3 batch ingest (${p.batch.batchSize} events per request)`, p.batch));
  if (p.delivery && !p.delivery.error) {
    const d = p.delivery;
    out.push(
      `- **4 delivery**: backlog of ${fmt(d.target)} ingested in ${fmt(d.ingest.seconds, 1)} s (${fmt(d.ingest.rate)} events/s through \`/ingest/batch\`); ${fmt(d.heldAtOpen)} requests held at the gate; ${fmt(d.delivered)} answered in ${fmt(d.seconds, 2)} s after the gate opened${d.reached ? '' : ' (**did not finish**)'}; relay RSS ${mb(d.rssHeld)} held, ${mb(d.peakRss)} peak; admin first page with this backlog: median ${ms(d.admin.medianMs)} (min ${ms(d.admin.minMs)}, max ${ms(d.admin.maxMs)}).`,
    );
    const b = deliveryBound(d, p.bareUndici);
    out.push(
      `  CPU per delivery while draining: ${fmt(d.cpu.relayUs)} µs in the relay (every thread), ${fmt(d.cpu.receiverUs)} µs in the receiver. Were all ${b.cores} cores busy with that work and nothing else, they would deliver at most ${fmt(b.rate)}/s${b.ofBare == null ? '' : `, ${ratio(b.ofBare)} of 1b`}.`,
    );
  }
  if (p.latency && !p.latency.error) {
    const l = p.latency;
    out.push(
      `- **5 latency**: ${fmt(l.sent)} events sent at ${fmt(l.rate)}/s (${fmt(l.errors)} errors), ${fmt(l.delivered)} delivered, ${fmt(l.samples)} timed after the warm-up: p50 ${ms(l.p50)}, p90 ${ms(l.p90)}, p99 ${ms(l.p99)}, max ${ms(l.max)}. Ingest answer (202) seen by the sender: p50 ${ms(l.ackP50)}, p99 ${ms(l.ackP99)}. Generator lateness behind its clock: p99 ${ms(l.lagP99)}, max ${ms(l.lagMax)}. Counting the ${fmt(l.warmUpS)} s warm-up too (a fresh process compiling its hot paths): p99 ${ms(l.withWarmUpP99)}, max ${ms(l.withWarmUpMax)}.`,
    );
  }
  if (p.bigBacklog && !p.bigBacklog.error) {
    const b = p.bigBacklog;
    out.push(
      `- **6 big backlog**: ${fmt(b.waiting)} events ingested in ${fmt(b.ingest.seconds, 1)} s (${fmt(b.ingest.rate)} events/s through \`/ingest/batch\`, ${results.params.batchConns} connections); the first ${fmt(b.target)} deliveries took ${fmt(b.seconds, 2)} s${b.reached ? '' : ' (**did not finish**)'}; relay RSS ${mb(b.rssHeld)} with the backlog held, ${mb(b.peakRss)} peak while delivering, ${mb(b.rssAfter)} after; admin first page median ${ms(b.admin.medianMs)} (min ${ms(b.admin.minMs)}, max ${ms(b.admin.maxMs)}, ${b.admin.rows} rows); \`GET /api/v1/stats\` took ${ms(b.statsMs)} (status ${b.statsStatus}).`,
    );
  }
  if (p.isolation && !p.isolation.error) {
    const i = p.isolation;
    out.push(
      `- **7 isolation**: alone ${fmt(i.solo.delivered)} deliveries in ${fmt(i.solo.seconds, 2)} s (${fmt(i.solo.rate)}/s); beside the hanging subscription ${fmt(i.withHang.delivered)} in ${fmt(i.withHang.seconds, 2)} s (${fmt(i.withHang.rate)}/s), while the port that never answers had received ${fmt(i.withHang.hangingRequests)} requests since the relay started.`,
    );
  }
  for (const e of results.errors) out.push(`- **${e.title} failed**: \`${e.message.split('\n')[0]}\``);
  return out;
}

/** The text of section `heading` of the old file, heading included; null when there is none. */
function preservedSection(path, heading) {
  let old;
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    return null;
  }
  const start = old.indexOf(`\n${heading}\n`);
  if (start < 0) return null;
  const rest = old.slice(start + 1);
  const next = rest.slice(heading.length).search(/^## /m);
  return `\n${next < 0 ? rest.trimEnd() : rest.slice(0, heading.length + next).trimEnd()}\n`;
}

/** Writes (or replaces) the Postgres section of BENCHMARKS.md, leaving the rest of the file alone. */
export function writePostgresSection(path, text) {
  writeSection(path, POSTGRES_HEADING, text);
}

/** Writes (or replaces in place) the section `heading` of the file, leaving the rest of it alone. */
export function writeSection(path, heading, text) {
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    // a new file
  }
  const section = `${heading}\n\n${text.trim()}\n`;
  const previous = preservedSection(path, heading);
  // A function replacement: the text may hold `$` sequences that String.replace would interpret.
  const md = previous ? old.replace(previous.trim(), () => section.trim()) : old ? `${old.trimEnd()}\n\n${section}` : section;
  writeFileSync(path, md.endsWith('\n') ? md : `${md}\n`);
}

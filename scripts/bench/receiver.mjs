// The benchmark's webhook receiver: a bare node:http server in its own process (forked with IPC).
//
// Port "ok":  /ok  answers 200 as soon as the request body has arrived, and counts it;
//             /lat does the same but parses the body and records (arrival - data.t), where data.t is
//             the scheduled send time (µs, CLOCK_MONOTONIC, shared by every process on Linux).
//             While the gate is closed, /ok and /lat requests are held (not answered) until it opens:
//             this is how the bench builds a backlog of waiting deliveries without spending attempts
//             (the tenant bench's 100,000 subscriptions point at /lat, for latency and backlogs alike).
//             A /lat body whose data.p is a string is counted under that tag too: a phase waits for
//             its own deliveries, not for ones an earlier phase left behind.
//      /probe/<name> answers 200 and keeps the arrival time of the first request to it (never
//             gated): when a new subscription first got a delivery.
// Port "hang": reads each request and never answers (a receiver that times out on every request).
//
// IPC commands: reset, gate {open, tag?}, stats {tag?}, wait {target, timeoutMs, tag?}, latency {fromUs},
// probe {path}. With tag, counts are of that tag's requests only.
import http from 'node:http';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

let gateOpen = true;
let held = []; // [tag, res] pairs
let count = 0; // answered on /ok and /lat
const tagged = new Map(); // tag → answered
let hung = 0; // requests received on the hang port
let lastAt = 0;
let lat = []; // [scheduledUs, latencyUs] pairs, flattened
let waiters = [];
const probes = new Map(); // path → arrival (µs) of its first request

function answer(res, tag) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
  count++;
  if (tag !== undefined) tagged.set(tag, (tagged.get(tag) ?? 0) + 1);
  lastAt = nowUs();
  if (waiters.length > 0) checkWaiters();
}

function checkWaiters() {
  const still = [];
  for (const w of waiters) {
    const n = counted(w.tag);
    if (n >= w.target) {
      clearTimeout(w.timer);
      process.send({ id: w.id, reached: true, count: n, at: lastAt });
    } else still.push(w);
  }
  waiters = still;
}

const counted = (tag) => (tag === undefined ? count : (tagged.get(tag) ?? 0));

function hold(res, tag) {
  if (gateOpen) answer(res, tag);
  else held.push([tag, res]);
}

const ok = http.createServer((req, res) => {
  if (req.url === '/lat') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const arrived = nowUs();
      let tag;
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const t = body?.data?.t;
        if (typeof t === 'number') lat.push(t, arrived - t);
        if (typeof body?.data?.p === 'string') tag = body.data.p;
      } catch {
        // not an envelope: counted, not timed
      }
      hold(res, tag);
    });
    return;
  }
  if (req.url.startsWith('/probe/')) {
    if (!probes.has(req.url)) probes.set(req.url, nowUs());
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
    return;
  }
  req.resume();
  req.on('end', () => hold(res, undefined));
});
ok.keepAliveTimeout = 120_000;
ok.headersTimeout = 125_000;
ok.requestTimeout = 0;
ok.maxRequestsPerSocket = 0;

const hang = http.createServer((req) => {
  hung++;
  req.resume(); // read it, never answer
});
hang.keepAliveTimeout = 120_000;
hang.headersTimeout = 0;
hang.requestTimeout = 0;

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

process.on('message', (msg) => {
  const { id, cmd } = msg;
  switch (cmd) {
    case 'reset':
      count = 0;
      hung = 0;
      lat = [];
      tagged.clear();
      process.send({ id });
      break;
    case 'gate': {
      gateOpen = msg.open;
      const released = msg.tag === undefined ? held.length : held.filter(([tag]) => tag === msg.tag).length;
      const at = nowUs();
      if (gateOpen) {
        const toAnswer = held;
        held = [];
        for (const [tag, res] of toAnswer) answer(res, tag);
      }
      process.send({ id, released, at });
      break;
    }
    case 'stats':
      process.send({ id, count: counted(msg.tag), held: held.length, hung, lastAt });
      break;
    case 'wait':
      if (counted(msg.tag) >= msg.target) {
        process.send({ id, reached: true, count: counted(msg.tag), at: lastAt });
      } else {
        const w = { id, target: msg.target, tag: msg.tag };
        w.timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== w);
          process.send({ id, reached: false, count: counted(msg.tag), at: lastAt });
        }, msg.timeoutMs);
        waiters.push(w);
      }
      break;
    case 'latency': {
      const values = [];
      for (let i = 0; i < lat.length; i += 2) if (lat[i] >= msg.fromUs && lat[i] < (msg.toUs ?? Infinity)) values.push(lat[i + 1]);
      values.sort((a, b) => a - b);
      process.send({
        id,
        samples: values.length,
        p50: percentile(values, 50),
        p90: percentile(values, 90),
        p99: percentile(values, 99),
        max: values.length ? values[values.length - 1] : null,
      });
      break;
    }
    case 'probe':
      process.send({ id, at: probes.get(msg.path) ?? null });
      break;
    default:
      process.send({ id, error: `unknown command ${cmd}` });
  }
});
process.on('disconnect', () => process.exit(0));

ok.listen(0, '127.0.0.1', () => {
  hang.listen(0, '127.0.0.1', () => {
    process.send({ ready: true, okPort: ok.address().port, hangPort: hang.address().port });
  });
});

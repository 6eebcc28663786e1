// The benchmark's webhook receiver: a bare node:http server in its own process (forked with IPC).
//
// Port "ok":  /ok  answers 200 as soon as the request body has arrived, and counts it;
//             /lat does the same but parses the body and records (arrival - data.t), where data.t is
//             the scheduled send time (µs, CLOCK_MONOTONIC, shared by every process on Linux).
//             While the gate is closed, /ok requests are held (not answered) until it opens: this is
//             how the bench builds a backlog of waiting deliveries without spending attempts.
// Port "hang": reads each request and never answers (a receiver that times out on every request).
//
// IPC commands: reset, gate {open}, stats, wait {target, timeoutMs}, latency {fromUs}.
import http from 'node:http';

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

let gateOpen = true;
let held = [];
let count = 0; // answered on /ok and /lat
let hung = 0; // requests received on the hang port
let lastAt = 0;
let lat = []; // [scheduledUs, latencyUs] pairs, flattened
let waiters = [];

function answer(res) {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
  count++;
  lastAt = nowUs();
  if (waiters.length > 0) checkWaiters();
}

function checkWaiters() {
  const still = [];
  for (const w of waiters) {
    if (count >= w.target) {
      clearTimeout(w.timer);
      process.send({ id: w.id, reached: true, count, at: lastAt });
    } else still.push(w);
  }
  waiters = still;
}

const ok = http.createServer((req, res) => {
  if (req.url === '/lat') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const arrived = nowUs();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const t = body?.data?.t;
        if (typeof t === 'number') lat.push(t, arrived - t);
      } catch {
        // not an envelope: counted, not timed
      }
      answer(res);
    });
    return;
  }
  req.resume();
  req.on('end', () => {
    if (gateOpen) answer(res);
    else held.push(res);
  });
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
      process.send({ id });
      break;
    case 'gate': {
      gateOpen = msg.open;
      const released = held.length;
      const at = nowUs();
      if (gateOpen) {
        const toAnswer = held;
        held = [];
        for (const res of toAnswer) answer(res);
      }
      process.send({ id, released, at });
      break;
    }
    case 'stats':
      process.send({ id, count, held: held.length, hung, lastAt });
      break;
    case 'wait':
      if (count >= msg.target) {
        process.send({ id, reached: true, count, at: lastAt });
      } else {
        const w = { id, target: msg.target };
        w.timer = setTimeout(() => {
          waiters = waiters.filter((x) => x !== w);
          process.send({ id, reached: false, count, at: lastAt });
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

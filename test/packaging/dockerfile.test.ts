import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { eventually, tempDir, TEST_SECRET } from '../helpers/relay';

/*
 * There is no Docker engine here, so this runs the Dockerfile's own steps: it parses the
 * Dockerfile, copies the repository's tracked files as its COPY lines say into a temporary root
 * that stands for the image's file system (/src, /out, /app, /data, /etc/hookrelay live under it),
 * runs its RUN lines with sh (the real `npm ci` and build), then starts ENTRYPOINT + CMD with the
 * image's ENV and WORKDIR as PID 1 of a new PID namespace (as in a container), and runs the
 * HEALTHCHECK command. Change the Dockerfile and this test runs the new steps.
 */

const ROOT = resolve(__dirname, '../..');

interface Instruction {
  op: string;
  args: string;
  line: number;
}

/** Dockerfile instructions, continuation lines joined, comments dropped, grouped by stage. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    while (line.endsWith('\\')) line = `${line.slice(0, -1)} ${lines[++i]!.trim()}`;
    line = line.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [op, ...rest] = line.split(/\s+/);
    const instruction = { op: op!.toUpperCase(), args: rest.join(' '), line: start + 1 };
    if (instruction.op === 'FROM') stages.push([]);
    stages.at(-1)!.push(instruction);
  }
  return stages;
}

/** The JSON (exec) form of CMD, ENTRYPOINT and HEALTHCHECK CMD. */
function execForm(args: string): string[] {
  const parsed = JSON.parse(args) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((a) => typeof a === 'string')) throw new Error(`not an exec form: ${args}`);
  return parsed;
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const [buildStage, runStage] = parseDockerfile(dockerfile);
const fsRoot = tempDir();
/** A path inside the image, under the temporary root. */
const inImage = (path: string) => join(fsRoot, path);
/** Absolute image paths inside a shell command, moved under the temporary root. */
const mapPaths = (command: string) => command.replace(/(^|[\s=:'"])\/(src|out|app|data|etc\/hookrelay)(?=[/\s'"]|$)/g, `$1${fsRoot}/$2`);
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);

/** COPY from the build context: only files git tracks (a fresh clone), as the image would get. */
function copyFromContext(sources: string[], dest: string, workdir: string): void {
  const target = dest.startsWith('/') ? inImage(dest) : join(workdir, dest);
  for (const source of sources) {
    const files = tracked.filter((f) => f === source || f.startsWith(`${source}/`));
    expect(files.length, `COPY ${source}: nothing tracked`).toBeGreaterThan(0);
    for (const file of files) {
      // "COPY a b ./" puts each file in the directory; "COPY src ./src" copies the directory's content.
      const relative = file === source ? file.split('/').pop()! : file.slice(source.length + 1);
      const out = file === source ? join(target, relative) : join(target, relative);
      mkdirSync(dirname(out), { recursive: true });
      cpSync(join(ROOT, file), out);
    }
  }
}

describe('Dockerfile', () => {
  it('is two stages: built on the official Node LTS image, run on the slim one as a non-root user', () => {
    expect(buildStage?.[0]).toMatchObject({ op: 'FROM', args: expect.stringMatching(/^node:20-bookworm AS build$/) });
    expect(runStage?.[0]).toMatchObject({ op: 'FROM', args: 'node:20-bookworm-slim' });
    const run = (op: string) => runStage!.filter((i) => i.op === op).map((i) => i.args);
    expect(run('USER')).toEqual(['node']);
    expect(run('VOLUME')).toEqual(['/data']);
    expect(run('EXPOSE')).toEqual(['8080']);
    expect(run('HEALTHCHECK')[0]).toMatch(/^--interval=\S+ .*CMD \[/);
    expect(run('STOPSIGNAL')).toEqual(['SIGTERM']);
    expect(execForm(run('CMD')[0]!)).toEqual(['serve', '--config', '/etc/hookrelay/config.yaml']);
    // Nothing runs as root in the final image: it has no RUN at all.
    expect(run('RUN')).toEqual([]);
  });

  describe('its steps, run here', () => {
    let receiver: Receiver;
    let relay: ReturnType<typeof spawn> | undefined;
    const env: Record<string, string> = {};
    let workdir = '';

    beforeAll(async () => {
      receiver = await startReceiver();
      // The build stage: WORKDIR, COPY from the context, RUN.
      workdir = inImage('/');
      for (const { op, args } of buildStage!.slice(1)) {
        if (op === 'WORKDIR') mkdirSync((workdir = inImage(args)), { recursive: true });
        else if (op === 'COPY') {
          const parts = args.split(/\s+/);
          copyFromContext(parts.slice(0, -1), parts.at(-1)!, workdir);
        } else if (op === 'RUN') {
          // The npm cache of this machine stands in for the registry cache of a Docker build host.
          execFileSync('sh', ['-c', mapPaths(args)], {
            cwd: workdir,
            stdio: 'pipe',
            env: { ...process.env, npm_config_prefer_offline: 'true' },
          });
        } else throw new Error(`build stage: ${op} is not handled by this test; teach it`);
      }
      // The run stage: ENV, COPY --from=build, WORKDIR.
      workdir = inImage('/');
      for (const { op, args } of runStage!.slice(1)) {
        if (op === 'ENV') {
          const [key, ...value] = args.split('=');
          env[key!] = value.join('=');
        } else if (op === 'COPY') {
          const parts = args.split(/\s+/).filter((p) => !p.startsWith('--chown'));
          expect(parts[0]).toBe('--from=build');
          const sources = parts.slice(1, -1);
          const dest = inImage(parts.at(-1)!);
          for (const source of sources) {
            const from = inImage(source);
            expect(existsSync(from), `COPY --from=build ${source}: the build stage did not make it`).toBe(true);
            cpSync(from, dest.endsWith('/') ? join(dest, source.split('/').pop()!) : dest, { recursive: true });
          }
        } else if (op === 'WORKDIR') mkdirSync((workdir = inImage(args)), { recursive: true });
      }
    }, 600_000);

    afterAll(async () => {
      relay?.kill('SIGKILL');
      await receiver?.close();
    });

    it('starts as PID 1 from ENTRYPOINT + CMD, delivers, passes its HEALTHCHECK, and drains on SIGTERM', async () => {
      const port = await freePort();
      env.HOOKRELAY_PORT = String(port);
      mkdirSync(inImage('/etc/hookrelay'), { recursive: true });
      // A config as an operator mounts it; storage left at its default (relative: inside /data).
      writeFileSync(
        inImage('/etc/hookrelay/config.yaml'),
        `server: { port: ${port} }
delivery: { allow_private_networks: true }
log: { level: info, format: json }
subscriptions:
  - { id: example, url: "${receiver.url}/hooks", signature: { scheme: standard-webhooks, secret: ${TEST_SECRET} } }
`,
      );
      const entrypoint = execForm(runStage!.find((i) => i.op === 'ENTRYPOINT')!.args);
      const cmd = execForm(runStage!.find((i) => i.op === 'CMD')!.args);
      const argv = [...entrypoint, ...cmd].map(mapPaths).map((a) => (a === 'node' ? process.execPath : a));
      // A PID namespace of its own: the relay is PID 1 there, as in a container, where a signal
      // without a handler is ignored; the drain below only works because the relay handles SIGTERM.
      relay = spawn('unshare', ['--pid', '--fork', '--kill-child', ...argv], {
        cwd: workdir,
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      relay.stdout!.on('data', (d) => (output += d));
      relay.stderr!.on('data', (d) => (output += d));
      await eventually(async () => output.includes('hookrelay listening'), 20_000);
      // unshare runs the relay as its child; in its namespace that child is PID 1.
      const inner = Number(execFileSync('pgrep', ['-P', String(relay.pid)], { encoding: 'utf8' }).trim());
      expect(readFileSync(`/proc/${inner}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);

      const res = await fetch(`http://127.0.0.1:${port}/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'order.created', data: { n: 1 } }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      await receiver.waitFor((r) => r.some((x) => x.headers['webhook-id'] === id));
      const got = receiver.received.find((x) => x.headers['webhook-id'] === id)!;
      expect(new Webhook(TEST_SECRET).verify(got.body, got.headers)).toMatchObject({ id });
      // The default storage path resolved inside the volume.
      expect(existsSync(inImage('/data/data/hookrelay.db'))).toBe(true);

      const healthcheck = runStage!.find((i) => i.op === 'HEALTHCHECK')!.args;
      const check = execForm(healthcheck.slice(healthcheck.indexOf('CMD') + 3).trim()).map((a) => (a === 'node' ? process.execPath : a));
      expect(spawnSync(check[0]!, check.slice(1), { env: { ...env } }).status).toBe(0);

      // docker stop: SIGTERM to PID 1.
      process.kill(inner, 'SIGTERM');
      const code = await new Promise<number | null>((done) => relay!.once('exit', (c) => done(c)));
      expect(code).toBe(0);
      expect(output).toContain('"msg":"stopped"');
      relay = undefined;
      // Down: the health check now fails.
      expect(spawnSync(check[0]!, check.slice(1), { env: { ...env } }).status).toBe(1);
    });
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The built bundle; `npm test` builds it first. */
export const BUNDLE = resolve(__dirname, '../../dist/hookrelay.mjs');

export function assertBundleBuilt(): void {
  if (!existsSync(BUNDLE)) throw new Error(`${BUNDLE} is missing: run npm run build (npm test does)`);
}

/**
 * Runs the bundle to completion: exit code, stdout and stderr. With `timeoutMs`, a run still going
 * then is killed (SIGKILL) and answers `timedOut: true` with `code: null`.
 */
export function runBundle(
  args: string[],
  env: Record<string, string> = {},
  bundle = BUNDLE,
  timeoutMs?: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut?: true }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [bundle, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr, ...(timedOut && { timedOut: true as const }) });
    });
  });
}

/** A relay process as spawned, listening or not yet: its JSON log lines, stderr and exit. */
export interface SpawnedRelay {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Everything written to stderr so far. */
  stderr(): string;
  /**
   * Resolves when a log line satisfies the predicate; rejects after `timeoutMs`, or as soon as the
   * process has exited without writing one.
   */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** A relay running the bundle as a child process, listening at `url`. */
export interface ChildRelay extends SpawnedRelay {
  url: string;
}

/**
 * Writes `yaml` to dir/config.yaml and starts `serve` on it; resolves once it listens. `command` is
 * the program and its leading arguments: the bundle under this node by default, or e.g. the single
 * executable alone.
 */
export async function startChildRelay(
  dir: string,
  yaml: string,
  env: Record<string, string> = {},
  command: string[] = [process.execPath, BUNDLE],
): Promise<ChildRelay> {
  const child = spawnChildRelay(dir, yaml, env, command);
  const listening = await child.waitForLog((l) => l.msg === 'hookrelay listening');
  return { ...child, url: `http://127.0.0.1:${listening.port}` };
}

/**
 * Writes `yaml` to dir/config.yaml and starts `serve` on it without waiting for anything: for tests
 * of what happens before the relay logs 'hookrelay listening' (or instead of it).
 */
export function spawnChildRelay(
  dir: string,
  yaml: string,
  env: Record<string, string> = {},
  command: string[] = [process.execPath, BUNDLE],
): SpawnedRelay {
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, yaml);
  const [program, ...leading] = command;
  const proc = spawn(program!, [...leading, 'serve', '--config', configFile], {
    cwd: dir,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  let buffer = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line));
    for (const l of listeners) l();
  });
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<number | string>((r) => proc.on('exit', (code, signal) => r(code ?? signal ?? -1)));
  // 'close' comes after the last stdout chunk, so a line the process wrote before exiting is seen first.
  const closed = new Promise<void>((r) => proc.on('close', () => r()));

  function waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs = 15_000) {
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      let settled = false;
      const finish = (err: Error | null, line?: Record<string, unknown>) => {
        if (settled) return;
        settled = true;
        listeners.delete(check);
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(line!);
      };
      const check = () => {
        const line = logs.find(predicate);
        if (line) finish(null, line);
      };
      const timer = setTimeout(
        () => finish(new Error(`log line not seen within ${timeoutMs} ms; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`)),
        timeoutMs,
      );
      listeners.add(check);
      closed.then(() => {
        check();
        const how = proc.exitCode ?? proc.signalCode;
        finish(new Error(`the relay exited (${how}) without that log line; stderr: ${stderr}; logs: ${JSON.stringify(logs.slice(-5))}`));
      });
      check();
    });
  }

  return { proc, logs, exited, stderr: () => stderr, waitForLog };
}

/** A minimal config for a child relay: SQLite in `dir`, one subscription per [id, url]. */
export function childConfig(dir: string, subs: [string, string][], extra = ''): string {
  return `server: { host: 127.0.0.1, port: 0, shutdown_grace: 2s }
storage: { sqlite: { path: ${join(dir, 'relay.db')} } }
delivery: { allow_private_networks: true, retry_schedule: [100ms, 100ms, 100ms], jitter: 0 }
log: { level: info, format: json }
${extra}
subscriptions:
${subs.map(([id, url]) => `  - { id: ${id}, url: "${url}", signature: { scheme: standard-webhooks, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw } }`).join('\n')}
`;
}

import type { Logger } from '../lib/logger';
import type { Store } from './types';

/** First pause before trying storage again at start-up, ms; doubled per try up to WAIT_MAX_MS. */
const WAIT_FIRST_MS = 250;
/** Longest pause between two tries, ms. */
const WAIT_MAX_MS = 5000;

export interface WaitOptions {
  logger: Logger;
  /** Errors that a wait may cure (refused, unresolvable, starting up); anything else ends the wait. */
  isUnavailable: (err: unknown) => boolean;
  /** Aborted by shutdown: the wait ends with the signal's reason. */
  signal: AbortSignal;
  /** Added to each log line (e.g. the HTTP port already answering /readyz). */
  fields?: Record<string, unknown>;
}

/**
 * Migrates the store, waiting with backoff while storage is not reachable yet (a database still
 * starting, a volume not mounted yet): one log line per try. An error no wait can fix (wrong
 * password, no such database, a failed migration) is thrown at once.
 */
export async function waitForStorage(store: Store, opts: WaitOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    opts.signal.throwIfAborted();
    try {
      await store.migrate();
      if (attempt > 1) opts.logger.info({ attempts: attempt, ...opts.fields }, 'storage reachable');
      return;
    } catch (err) {
      if (!opts.isUnavailable(err)) throw err;
      const retryInMs = Math.min(WAIT_MAX_MS, WAIT_FIRST_MS * 2 ** (attempt - 1));
      opts.logger.warn({ attempt, error: describe(err), retry_in_ms: retryInMs, ...opts.fields }, 'waiting for storage');
      await pause(retryInMs, opts.signal);
    }
  }
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener('abort', aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener('abort', aborted, { once: true });
  });
}

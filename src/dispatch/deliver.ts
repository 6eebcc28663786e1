import { StringDecoder } from 'node:string_decoder';
import { Agent, type Dispatcher } from 'undici';
import { BlockedDestinationError, createGuardedConnector, createTenantConnector, type HostLookup, type NetworkRules } from '../net/guard';
import type { OutgoingRequest } from './build-request';
import { parseRetryAfter, type Outcome } from './retry-policy';

/** What one attempt produced, for the attempt record and the retry policy. */
export interface AttemptResponse {
  outcome: Outcome;
  status: number | null;
  headers: Record<string, string> | null;
  /** The receiver's answer, cut at the cap. */
  body: string | null;
  durationMs: number;
}

export interface DelivererOptions {
  /** Most connections kept per receiver origin (undici pool size). */
  connectionsPerOrigin: number;
  /** Bytes of the receiver's answer kept per attempt. */
  maxResponseBody: number;
  /** Which destinations may be dialled (SPEC 7); fixed for the deliverer's life. */
  network: NetworkRules;
  /** tenants.allowed_networks, read per new connection (a reload applies): the only exemptions for tenants' endpoints. */
  tenantAllowedNetworks?: (() => readonly string[]) | undefined;
  /** How names are resolved when the guard is on; default dns.lookup. Tests inject a stub. */
  lookup?: HostLookup | undefined;
  /** Wall clock, epoch ms: an HTTP-date Retry-After is measured from it. */
  now: () => number;
}

export interface AttemptOptions {
  /** Whole attempt: connect, headers and body. */
  timeoutMs: number;
  /** The attempt is for a tenant's subscription: always held to the blocked ranges (SPEC 9), over its own pool. */
  tenant?: boolean | undefined;
  /**
   * The attempt's controller: the caller aborts it from outside (shutdown); the timeout aborts it
   * with a TimeoutError. One controller per attempt, no AbortSignal.any: this runs per request.
   */
  controller?: AbortController | undefined;
}

/**
 * Sends attempts over undici with a bounded connection pool per origin. Never throws for the
 * receiver's failures: every ending is an Outcome value. Redirects are never followed (3xx fails).
 * Unless private networks are allowed, every new connection goes through the network guard
 * (src/net/guard.ts); a blocked destination fails for good. With them allowed, undici's own
 * connector is used untouched: no extra work per connection. Attempts for tenants' subscriptions
 * go through a second, always-guarded Agent (SPEC 9).
 */
export function createDeliverer(opts: DelivererOptions) {
  const agent = new Agent({
    connections: opts.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    ...(!opts.network.allowPrivateNetworks && { connect: createGuardedConnector(opts.network, opts.lookup) }),
  });
  // Tenants' endpoints (SPEC 9): always guarded, whatever delivery.* says; tenants.allowed_networks exempts.
  // A separate pool, so a connection the platform agent opened unguarded is never reused for a tenant.
  const tenantAgent = new Agent({
    connections: opts.connectionsPerOrigin,
    keepAliveTimeout: 30_000,
    connect: createTenantConnector(opts.tenantAllowedNetworks ?? (() => NO_NETWORKS), opts.lookup),
  });

  async function deliver(req: OutgoingRequest, attempt: AttemptOptions): Promise<AttemptResponse> {
    const started = performance.now();
    const controller = attempt.controller ?? new AbortController();
    const timer = setTimeout(() => controller.abort(new TimeoutError(attempt.timeoutMs)), attempt.timeoutMs);
    const signal = controller.signal;
    try {
      const res = await (attempt.tenant ? tenantAgent : agent).request({
        ...target(req.url),
        method: 'POST',
        headers: req.headers,
        body: req.body,
        signal,
      });
      const body = await readCapped(res.body, opts.maxResponseBody);
      const headers = flattenHeaders(res.headers);
      return { outcome: classify(res.statusCode, headers, opts.now()), status: res.statusCode, headers, body, durationMs: since(started) };
    } catch (err) {
      const reason = signal.aborted ? signal.reason : err;
      if (reason instanceof BlockedDestinationError) {
        return {
          outcome: { kind: 'fail', status: null, error: reason.message },
          status: null,
          headers: null,
          body: null,
          durationMs: since(started),
        };
      }
      return {
        outcome: { kind: 'retry', status: null, error: describeError(reason) },
        status: null,
        headers: null,
        body: null,
        durationMs: since(started),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  return { deliver, close: () => Promise.all([agent.close(), tenantAgent.close()]).then(() => undefined) };
}

export type Deliverer = ReturnType<typeof createDeliverer>;

const NO_NETWORKS: readonly string[] = [];

/** Raised through the abort signal when an attempt runs past its timeout. */
export class TimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`timeout after ${timeoutMs} ms`);
  }
}

function target(url: string): { origin: string; path: string } {
  const u = new URL(url);
  return { origin: u.origin, path: u.pathname + u.search };
}

function classify(status: number, headers: Record<string, string>, now: number): Outcome {
  if (status >= 200 && status < 300) return { kind: 'ok', status };
  if (status === 410) return { kind: 'gone', status, error: 'HTTP 410 Gone: subscription disabled' };
  if (status >= 300 && status < 400) {
    return {
      kind: 'retry',
      status,
      error: `HTTP ${status}: redirects are not followed${headers.location ? ` (location: ${headers.location})` : ''}`,
    };
  }
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after'], now) : undefined;
  return { kind: 'retry', status, error: `HTTP ${status}`, ...(retryAfterMs !== undefined && { retryAfterMs }) };
}

/**
 * Keeps the first `cap` bytes; stops reading (and closes the socket) past them. Destroying the body
 * aborts the request, so undici closes the connection rather than reading the rest into the void.
 * A character cut in half by the cap is dropped, so the kept text is never more than `cap` bytes.
 */
async function readCapped(body: Dispatcher.ResponseData['body'], cap: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const room = cap - size;
    if (chunk.length >= room) {
      chunks.push(chunk.subarray(0, room));
      size = cap;
      body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  // StringDecoder holds back an incomplete trailing UTF-8 sequence instead of emitting U+FFFD.
  return new StringDecoder('utf8').write(Buffer.concat(chunks, size));
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function describeError(err: unknown): string {
  if (err instanceof TimeoutError) return err.message;
  if (err instanceof Error) {
    const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
    const message = err.message || err.name;
    return code && !message.includes(code) ? `${message} (${code})` : message;
  }
  return String(err);
}

const since = (started: number) => Math.round(performance.now() - started);

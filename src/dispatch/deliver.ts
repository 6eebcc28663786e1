import type { IncomingHttpHeaders } from 'node:http';
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
  /** Lets the caller end the attempt from outside (shutdown); the timeout ends it with a TimeoutError. */
  abort?: AttemptAbort | undefined;
}

/**
 * Ends an attempt from outside with a reason (the dispatcher's shutdown). One small object per
 * attempt instead of an AbortController, its signal and a listener: this runs per request.
 */
export class AttemptAbort {
  reason: Error | undefined;
  private listener: ((reason: Error) => void) | undefined;

  abort(reason: Error): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.listener?.(reason);
  }

  /** Called by the attempt: at once when aborted already. */
  listen(listener: (reason: Error) => void): void {
    this.listener = listener;
    if (this.reason !== undefined) listener(this.reason);
  }
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

  function deliver(req: OutgoingRequest, attempt: AttemptOptions): Promise<AttemptResponse> {
    return new Promise((settle) => {
      const exchange = new Exchange(opts.maxResponseBody, opts.now, settle);
      exchange.start(attempt.timeoutMs, attempt.abort);
      try {
        (attempt.tenant ? tenantAgent : agent).dispatch(
          { ...target(req.url), method: 'POST', headers: req.headers, body: req.body },
          exchange,
        );
      } catch (err) {
        exchange.onResponseError(undefined, err as Error);
      }
    });
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
 * One attempt as an undici dispatch handler: the answer is read straight from the parser's
 * callbacks (no Readable, no async iterator, no AbortSignal per request). The whole attempt is
 * bounded by its timeout, and the attempt settles exactly once: with the response (also when the
 * body is cut at the cap), or with the reason it ended (timeout, shutdown, network error).
 *
 * The first `cap` bytes of the body are kept; past them the request is aborted, so undici closes
 * the connection rather than reading the rest into the void. A character cut in half by the cap is
 * dropped, so the kept text is never more than `cap` bytes.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private readonly started = performance.now();
  private controller: Dispatcher.DispatchController | undefined;
  /** Why the relay ended the attempt (timeout, shutdown); undefined while it runs on its own. */
  private reason: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private settled = false;
  private status = 0;
  private headers: Record<string, string> | null = null;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly cap: number,
    private readonly now: () => number,
    private readonly settle: (response: AttemptResponse) => void,
  ) {}

  start(timeoutMs: number, abort: AttemptAbort | undefined): void {
    this.timer = setTimeout(() => this.end(new TimeoutError(timeoutMs)), timeoutMs);
    abort?.listen((reason) => this.end(reason));
  }

  /** Ends the attempt for `reason`; before the request reached a connection, when it does. */
  private end(reason: Error): void {
    if (this.settled || this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.reason !== undefined) controller.abort(this.reason);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHttpHeaders): void {
    this.status = statusCode;
    this.headers = flattenHeaders(headers);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    const room = this.cap - this.size;
    if (chunk.length < room) {
      this.chunks.push(chunk);
      this.size += chunk.length;
      return;
    }
    this.chunks.push(chunk.subarray(0, room));
    this.size = this.cap;
    this.respond();
    controller.abort(new Error('response body cut at max_response_body'));
  }

  onResponseEnd(): void {
    this.respond();
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    const reason = this.reason ?? err;
    if (reason instanceof BlockedDestinationError) {
      this.finish({ outcome: { kind: 'fail', status: null, error: reason.message }, status: null, headers: null, body: null });
    } else {
      this.finish({ outcome: { kind: 'retry', status: null, error: describeError(reason) }, status: null, headers: null, body: null });
    }
  }

  private respond(): void {
    const headers = this.headers ?? {};
    // StringDecoder holds back an incomplete trailing UTF-8 sequence instead of emitting U+FFFD. A
    // NUL becomes U+FFFD: Postgres text cannot hold it, and the statement writing this result would
    // fail with every other result of its batch (both stores keep the same text).
    const body = new StringDecoder('utf8').write(Buffer.concat(this.chunks, this.size)).replaceAll('\u0000', '\uFFFD');
    this.finish({ outcome: classify(this.status, headers, this.now()), status: this.status, headers, body });
  }

  private finish(response: Omit<AttemptResponse, 'durationMs'>): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    this.settle({ ...response, durationMs: Math.round(performance.now() - this.started) });
  }
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
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

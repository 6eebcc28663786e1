import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { ConfigError, type Problem } from '../config/errors';
import { AppError, type FieldError } from '../lib/app-error';
import type { Logger } from '../lib/logger';

export { AppError, type FieldError, formatPath } from '../lib/app-error';

const TYPE_BASE = 'https://hookrelay.dev/problems/';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Codes of Hono's own client errors (malformed JSON, wrong content type in a validator), by status. */
const HONO_CODES: Record<number, string> = { 400: 'invalid_json', 413: 'payload_too_large', 415: 'unsupported_media_type' };

/** What the edge needs to map errors it did not make itself. */
export interface ProblemContext {
  logger: Logger;
  /** The store's own judgement: this error means storage cannot answer now (503, retried). */
  isUnavailable: (err: unknown) => boolean;
  /** Told of each request answered 503 for it (see outageReporter). */
  onUnavailable?: (err: unknown) => void;
}

/**
 * Reports requests refused because storage cannot answer without a line per request: the first at
 * once, then at most one line per `everyMs`, counting the ones refused in between.
 */
export function outageReporter(logger: Logger, now: () => number, everyMs = 10_000): (err: unknown) => void {
  let lastAt = -Infinity;
  let refused = 0;
  return (err) => {
    refused++;
    if (now() - lastAt < everyMs) return;
    logger.warn({ err, refused }, 'storage unavailable: requests answered 503');
    lastAt = now();
    refused = 0;
  };
}

/**
 * The one mapper from anything thrown to problem+json: AppError as it is; Hono's client errors;
 * a rejected config (reload); storage that cannot answer (503 with Retry-After); everything else
 * is logged once with its cause and answered 500.
 */
export function toProblem(err: unknown, ctx: ProblemContext, where?: { method: string; path: string }): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof HTTPException && err.status < 500) {
    const errors = err.status === 400 ? [{ path: '(root)', message: 'expected a JSON object' }] : undefined;
    return new AppError(err.status, HONO_CODES[err.status] ?? 'bad_request', { detail: err.message, errors });
  }
  if (err instanceof ConfigError) {
    const count = `${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}`;
    return new AppError(400, 'invalid_config', {
      detail: `${err.fileName} has ${count}; the running config is unchanged`,
      errors: err.problems.map((p) => located(p, err.fileName)),
    });
  }
  if (ctx.isUnavailable(err)) {
    // Each refused request at debug (with its cause); operators get the throttled summary line.
    ctx.logger.debug({ err }, 'storage unavailable');
    ctx.onUnavailable?.(err);
    return storageUnavailable(err);
  }
  ctx.logger.error({ err, ...where }, 'unexpected error');
  return new AppError(500, 'internal', { detail: 'unexpected error; see the relay log' });
}

/** 503 for a request that storage could not serve: nothing was stored, try again shortly. */
export function storageUnavailable(cause?: unknown): AppError {
  return new AppError(503, 'storage_unavailable', {
    detail: 'storage is unavailable; nothing was stored, retry later',
    headers: { 'retry-after': '1' },
    cause,
  });
}

/** Renders an AppError as RFC 9457 problem+json; `type` is a stable URI per code. */
export function problem(_c: Context | undefined, err: AppError): Response {
  const body: Record<string, unknown> = {
    type: TYPE_BASE + err.code.replace(/_/g, '-'),
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
  };
  if (err.detail) body.detail = err.detail;
  if (err.errors) body.errors = err.errors;
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { 'content-type': 'application/problem+json', ...err.headers },
  });
}

/** The raw HTTP/1.1 text of a problem answer, for sockets no route handles (parser errors). */
export function rawProblem(status: number, code: string, detail: string): string {
  const title = TITLES[status] ?? 'Error';
  const body = JSON.stringify({ type: TYPE_BASE + code.replace(/_/g, '-'), title, status, detail });
  return `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** A config problem as a field error: `hookrelay.yaml:12: subscriptions[0].url`. */
function located(p: Problem, fileName: string): FieldError {
  return { path: `${fileName}${p.line === null ? '' : `:${p.line}`}: ${p.path}`, message: p.message };
}

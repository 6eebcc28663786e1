import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { SubscriptionError } from '../../admin/subscription-error';
import { AppError, formatPath, problem } from '../problem';

const TITLES = { invalid: [400, 'Bad Request'], not_found: [404, 'Not Found'], conflict: [409, 'Conflict'] } as const;

/** A refusal of the subscription core as the API's problem+json error. */
export function toAppError(err: SubscriptionError): AppError {
  const [status, title] = TITLES[err.kind];
  const errors = err.errors.map((e) => ({ path: formatPath(e.path), message: e.message }));
  return new AppError(status, title, err.detail, errors.length > 0 ? errors : undefined);
}

const HTTP_TITLES: Record<number, string> = { 400: 'Bad Request', 415: 'Unsupported Media Type' };

/**
 * onError of the subscription routers: the core's refusals, and Hono's own HTTPExceptions (400
 * malformed JSON, 415 not JSON; otherwise answered 500 by the app), become problem+json; anything
 * else goes on to the app's handler (503, 500 with a log line).
 */
export function subscriptionErrors(err: Error, c: Context): Response {
  if (err instanceof SubscriptionError) return problem(c, toAppError(err));
  if (err instanceof HTTPException && err.status < 500) {
    const errors = err.status === 400 ? [{ path: '(root)', message: 'expected a JSON object' }] : undefined;
    return problem(c, new AppError(err.status, HTTP_TITLES[err.status] ?? 'Bad Request', err.message, errors));
  }
  throw err;
}

/*
 * Which Postgres failures mean "storage is unavailable right now, retry later" (503) rather than a
 * bug or a misconfiguration. Fatal ones stay false: bad credentials (28P01, 28000), no such
 * database (3D000), no permission (42501) need a person, not a retry.
 */

/** Node socket errors of a connection that failed or dropped. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** SQLSTATEs of transient failures (class 08, connection exception, is matched as a whole). */
const TRANSIENT_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, recovering)
  '53300', // too_many_connections
  '53100', // disk_full: as SQLITE_FULL is for the SQLite store
  '57014', // query_canceled: statement_timeout
  '40001', // serialization_failure
  '40P01', // deadlock_detected
]);

/** pg's own errors, which carry no code. */
const CODELESS_MESSAGES = [
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Connection terminated',
  // query_timeout: the client gave up on a server that did not answer (statement_timeout).
  'Query read timeout',
];

/** The Postgres store's Store.isUnavailable. Looks through `cause` and AggregateError's `errors` (a connect to every address failed). */
export function isPostgresUnavailable(err: unknown): boolean {
  return unavailable(err, 0);
}

function unavailable(err: unknown, depth: number): boolean {
  if (err === null || typeof err !== 'object' || depth > 4) return false;
  const { code, message, cause, errors } = err as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') {
    if (SOCKET_CODES.has(code)) return true;
    // A SQLSTATE decides on its own: the server said what happened.
    if (/^[0-9A-Z]{5}$/.test(code)) return TRANSIENT_SQLSTATES.has(code) || code.startsWith('08');
  }
  if (typeof message === 'string' && CODELESS_MESSAGES.some((m) => message.includes(m))) return true;
  if (Array.isArray(errors) && errors.some((e) => unavailable(e, depth + 1))) return true;
  return cause !== undefined && unavailable(cause, depth + 1);
}

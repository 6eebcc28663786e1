/*
 * Cursors of the admin listings: base64url of a JSON array `[kind, ...key of the last row]`.
 * Opaque to clients; the kind letter keeps a cursor of one listing from being used on another.
 * Anything that does not decode to exactly that shape is an InvalidCursorError, never a restart.
 */

/** Thrown for a cursor this store did not make; the HTTP layer answers 400. */
export class InvalidCursorError extends Error {
  readonly code = 'INVALID_CURSOR';
  constructor(detail: string) {
    super(`invalid cursor: ${detail}`);
    this.name = 'InvalidCursorError';
  }
}

/** Position after an event row: its (created_at, seq). */
export interface EventKey {
  createdAt: number;
  seq: number;
}

// Longer than any cursor we make; bounds the work spent on garbage.
const MAX_CURSOR_LENGTH = 512;
const MAX_ID_LENGTH = 255;

/** Cursor after an event row of listEvents. */
export const eventCursor = (key: EventKey): string => encode(['e', key.createdAt, key.seq]);
/** Cursor after a delivery of listDeliveries. */
export const deliveryCursor = (id: string): string => encode(['d', id]);
/** Cursor after an audit entry of listAudit. */
export const auditCursor = (seq: number): string => encode(['a', seq]);
/** Cursor after a tenant of listTenants. */
export const tenantCursor = (id: string): string => encode(['t', id]);
/** Where a retention sweep goes on: after this event row. */
export const pruneCursor = (key: EventKey): string => encode(['p', key.createdAt, key.seq]);

/** The event key of a prune cursor; InvalidCursorError otherwise. */
export function decodePruneCursor(cursor: string): EventKey {
  const [createdAt, seq] = decode(cursor, 'p', 2);
  return { createdAt: integer(createdAt), seq: integer(seq) };
}

/** The event key of an events cursor; InvalidCursorError otherwise. */
export function decodeEventCursor(cursor: string): EventKey {
  const [createdAt, seq] = decode(cursor, 'e', 2);
  return { createdAt: integer(createdAt), seq: integer(seq) };
}

/** The delivery id of a deliveries cursor; InvalidCursorError otherwise. */
export function decodeDeliveryCursor(cursor: string): string {
  const [id] = decode(cursor, 'd', 1);
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw new InvalidCursorError('bad id');
  return id;
}

/** The tenant id of a tenants cursor; InvalidCursorError otherwise. */
export function decodeTenantCursor(cursor: string): string {
  const [id] = decode(cursor, 't', 1);
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) throw new InvalidCursorError('bad id');
  return id;
}

/** The audit seq of an audit cursor; InvalidCursorError otherwise. */
export function decodeAuditCursor(cursor: string): number {
  const [seq] = decode(cursor, 'a', 1);
  return integer(seq);
}

function encode(value: unknown[]): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode(cursor: string, kind: string, keyLength: number): unknown[] {
  // Buffer's base64url decoder skips characters it does not know; check the alphabet first.
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    throw new InvalidCursorError('not base64url');
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not JSON');
  }
  if (!Array.isArray(value) || value.length !== keyLength + 1 || value[0] !== kind) {
    throw new InvalidCursorError('not a cursor of this listing');
  }
  return value.slice(1);
}

function integer(value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw new InvalidCursorError('bad number');
  return value;
}

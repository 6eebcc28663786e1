import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { isSqliteUnavailable } from './errors';

describe('isSqliteUnavailable', () => {
  it('is true for busy, locked, full, read-only and I/O failures, and for a failed WAL flush', () => {
    for (const code of [
      'SQLITE_BUSY',
      'SQLITE_BUSY_SNAPSHOT',
      'SQLITE_LOCKED',
      'SQLITE_FULL',
      'SQLITE_READONLY_DBMOVED',
      'SQLITE_IOERR_FSYNC',
    ]) {
      expect(isSqliteUnavailable(Object.assign(new Error(code), { code })), code).toBe(true);
    }
    for (const code of ['EIO', 'ENOSPC', 'EDQUOT']) expect(isSqliteUnavailable(Object.assign(new Error(code), { code })), code).toBe(true);
  });

  it('is false for bugs and for anything without a code', () => {
    for (const code of ['SQLITE_ERROR', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_MISMATCH', 'SQLITE_BUSYNESS', 'ECONNREFUSED']) {
      expect(isSqliteUnavailable(Object.assign(new Error(code), { code })), code).toBe(false);
    }
    expect(isSqliteUnavailable(new Error('boom'))).toBe(false);
    expect(isSqliteUnavailable(null)).toBe(false);
    expect(isSqliteUnavailable('SQLITE_BUSY')).toBe(false);
  });

  it('says so for the errors better-sqlite3 really throws', () => {
    const db = new Database(':memory:');
    try {
      let syntax: unknown;
      try {
        db.exec('NOT SQL');
      } catch (err) {
        syntax = err;
      }
      expect(syntax).toMatchObject({ code: 'SQLITE_ERROR' });
      expect(isSqliteUnavailable(syntax)).toBe(false);
    } finally {
      db.close();
    }
  });
});

import { describe, expect, it } from 'vitest';
import { isPostgresUnavailable } from './errors';

const withCode = (code: string, message = code) => Object.assign(new Error(message), { code });

describe('isPostgresUnavailable', () => {
  it('is true for a connection that failed or dropped', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']) {
      expect(isPostgresUnavailable(withCode(code)), code).toBe(true);
    }
    // Node's connect to every address of a name failed: the codes are on the inner errors.
    expect(isPostgresUnavailable(new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'connect failed'))).toBe(true);
    expect(isPostgresUnavailable(new Error('wrapped', { cause: withCode('ECONNRESET') }))).toBe(true);
  });

  it('is true for transient SQLSTATEs: connection exceptions, shutdowns, too many connections, timeouts, conflicts', () => {
    for (const code of [
      '08000',
      '08003',
      '08006',
      '08001',
      '08004',
      '08P01',
      '57P01',
      '57P02',
      '57P03',
      '53300',
      '57014',
      '40001',
      '40P01',
    ]) {
      expect(isPostgresUnavailable(withCode(code)), code).toBe(true);
    }
  });

  it("is true for pg's own errors, which carry no code", () => {
    for (const message of [
      'Connection terminated unexpectedly',
      'Connection terminated due to connection timeout',
      'timeout exceeded when trying to connect',
      'Client has encountered a connection error and is not queryable',
    ]) {
      expect(isPostgresUnavailable(new Error(message)), message).toBe(true);
    }
  });

  it('is false for what a retry cannot fix: credentials, a missing database, permissions, bugs', () => {
    for (const code of ['28P01', '28000', '3D000', '42501', '42P01', '42601', '23505', '22P02']) {
      expect(isPostgresUnavailable(withCode(code)), code).toBe(false);
    }
    // The server's code decides, whatever the message says.
    expect(isPostgresUnavailable(withCode('28P01', 'password authentication failed; Connection terminated unexpectedly'))).toBe(false);
    expect(isPostgresUnavailable(new Error('boom'))).toBe(false);
    expect(isPostgresUnavailable(null)).toBe(false);
    expect(isPostgresUnavailable('ECONNREFUSED')).toBe(false);
  });
});

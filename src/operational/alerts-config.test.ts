import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema';

describe('alerts config', () => {
  it('defaults to failing_after 10 and backlog_age 15m', () => {
    expect(configSchema.parse({}).alerts).toEqual({ failing_after: 10, backlog_age: 15 * 60_000 });
  });

  it('reads durations and refuses bad values with their path', () => {
    expect(configSchema.parse({ alerts: { failing_after: 3, backlog_age: '90s' } }).alerts).toEqual({
      failing_after: 3,
      backlog_age: 90_000,
    });
    const bad = configSchema.safeParse({ alerts: { failing_after: 0, backlog_age: 'soon', extra: 1 } });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['alerts.failing_after', 'alerts.backlog_age']));
  });
});

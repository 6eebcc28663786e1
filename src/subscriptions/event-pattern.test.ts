import { describe, expect, it } from 'vitest';
import { compileEventPatterns } from './event-pattern';

describe('compileEventPatterns', () => {
  it('matches exact types and trailing wildcards segment by segment', () => {
    const m = compileEventPatterns(['payment.*', 'invoice.paid']);
    expect(m('payment.completed')).toBe(true);
    expect(m('payment.refund.created')).toBe(true);
    expect(m('payment')).toBe(false);
    expect(m('payments.completed')).toBe(false);
    expect(m('invoice.paid')).toBe(true);
    expect(m('invoice.paid.late')).toBe(false);
    expect(m('invoice.created')).toBe(false);
  });

  it('lets * alone match every type', () => {
    const m = compileEventPatterns(['*']);
    for (const t of ['a', 'a.b', 'x.y.z']) expect(m(t)).toBe(true);
  });

  it('keeps the reserved hookrelay.* types from * and other wildcards (SPEC 12)', () => {
    expect(compileEventPatterns(['*'])('hookrelay.subscription.failing')).toBe(false);
    expect(compileEventPatterns(['hookrelay.*'])('hookrelay.subscription.failing')).toBe(true);
    expect(compileEventPatterns(['hookrelay.*'])('payment.completed')).toBe(false);
    expect(compileEventPatterns(['hookrelay.subscription.*', '*'])('hookrelay.subscription.recovered')).toBe(true);
    expect(compileEventPatterns(['hookrelay.subscription.*'])('hookrelay.delivery.failed')).toBe(false);
    expect(compileEventPatterns(['hookrelay.delivery.failed'])('hookrelay.delivery.failed')).toBe(true);
  });
});

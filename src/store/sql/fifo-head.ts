import type { HeadRow } from './rows';

/**
 * Where a fifo subscription stands, from its head (its oldest unfinished delivery): `due` when the
 * head is waiting and due by `now` (nothing behind it may go before it finishes, so `next` is
 * null); otherwise `next` is when the head will be due, null while it is delivering or when none is left.
 */
export function headStanding(head: HeadRow | undefined, now: number): { due: boolean; next: number | null } {
  if (head === undefined || head.status === 'delivering' || head.next_attempt_at === null) return { due: false, next: null };
  return head.next_attempt_at <= now ? { due: true, next: null } : { due: false, next: head.next_attempt_at };
}

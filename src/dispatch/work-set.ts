/** The group of subscriptions without a tenant (the platform's): SPEC 4 counts them as one tenant. Tenant ids are never empty. */
export const PLATFORM = '';

interface Standing {
  group: string;
  /** Bumped (from one counter for the whole set) at every mark: a claim planned before a mark must not undo it. */
  stamp: number;
  state: 'due' | 'later' | 'parked';
}

interface Wakeup {
  at: number;
  id: string;
  stamp: number;
}

/**
 * This dispatcher's view of which subscriptions may have work, grouped by tenant, so a claim round
 * costs in proportion to the work due and never to the number of subscriptions. A subscription is
 * `due` (waiting deliveries due now, as far as we know), `later` (its earliest waiting delivery is
 * due at a known time, in a heap), `parked` (it has work but no free slot: an attempt's end brings it
 * back) or absent (nothing waiting). Marks come from what can make work due: ingest commits (the
 * fan-out's ids), finished attempts, claim results (the store says when the next waiting delivery of
 * each claimed subscription is due), and a scan of the store's waiting subscriptions, which is the
 * safety net and the only source for work other instances made. Being wrong costs one empty claim
 * in one direction and at most one scan period in the other, never a lost delivery.
 */
export class WorkSet {
  private readonly subs = new Map<string, Standing>();
  /** Groups with due subscriptions, in rotating order (a Map keeps insertion order); each a rotating set. */
  private readonly groups = new Map<string, Set<string>>();
  private readonly heap: Wakeup[] = [];
  private stamps = 0;

  /** The stamp of a subscription's last mark (0: none); compare before applying a claim's result. */
  stampOf(id: string): number {
    return this.subs.get(id)?.stamp ?? 0;
  }

  /** Waiting deliveries of `id` may be due now. */
  due(id: string, group: string): void {
    const s = this.mark(id, group, 'due');
    let members = this.groups.get(s.group);
    if (members === undefined) this.groups.set(s.group, (members = new Set()));
    members.add(id);
  }

  /** The earliest waiting delivery of `id` is due at `at` (now or in the past: due). */
  dueAt(id: string, group: string, at: number, now: number): void {
    if (at <= now) {
      this.due(id, group);
      return;
    }
    const s = this.mark(id, group, 'later');
    this.push({ at, id, stamp: s.stamp });
  }

  /** Has work but may not claim now (at its cap): back to due when one of its attempts ends. */
  park(id: string): void {
    const s = this.subs.get(id);
    if (s === undefined) return;
    this.leaveGroup(id, s.group);
    s.state = 'parked';
  }

  /** Called when an attempt of `id` ended: a parked subscription may claim again. */
  unpark(id: string): void {
    const s = this.subs.get(id);
    if (s?.state === 'parked') this.due(id, s.group);
  }

  /** Nothing of `id` is waiting (or it cannot be delivered now): forget it until marked again. */
  idle(id: string): void {
    const s = this.subs.get(id);
    if (s === undefined) return;
    this.leaveGroup(id, s.group);
    this.subs.delete(id);
  }

  /** Moves subscriptions whose time has come from the heap to due. */
  promote(now: number): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= now) {
      const top = this.pop();
      const s = this.subs.get(top.id);
      if (s?.state === 'later' && s.stamp === top.stamp) this.due(top.id, s.group);
    }
  }

  /** When the earliest `later` subscription becomes due; Infinity when none is waiting for a time. */
  nextAt(): number {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      const s = this.subs.get(top.id);
      if (s?.state === 'later' && s.stamp === top.stamp) return top.at;
      this.pop();
    }
    return Infinity;
  }

  /** Groups with due subscriptions, first in turn first (a live view: rotate() while iterating is safe). */
  dueGroups(): IterableIterator<[string, ReadonlySet<string>]> {
    return this.groups.entries();
  }

  /** How many groups have due subscriptions. */
  get dueGroupCount(): number {
    return this.groups.size;
  }

  /** Due subscriptions of `group` (an empty set for none). */
  dueIn(group: string): ReadonlySet<string> {
    return this.groups.get(group) ?? EMPTY;
  }

  /** `group` had its turn: it goes last; with `id`, that subscription goes last within it. */
  rotate(group: string, id?: string): void {
    const members = this.groups.get(group);
    if (members === undefined) return;
    this.groups.delete(group);
    this.groups.set(group, members);
    if (id !== undefined && members.delete(id)) members.add(id);
  }

  /** How many subscriptions the set holds in any state (for tests and metrics). */
  get size(): number {
    return this.subs.size;
  }

  private mark(id: string, group: string, state: Standing['state']): Standing {
    let s = this.subs.get(id);
    if (s === undefined) this.subs.set(id, (s = { group, stamp: 0, state }));
    else if (s.group !== group) this.leaveGroup(id, s.group);
    if (state !== 'due') this.leaveGroup(id, s.group);
    s.group = group;
    s.state = state;
    s.stamp = ++this.stamps;
    return s;
  }

  private leaveGroup(id: string, group: string): void {
    const members = this.groups.get(group);
    if (members?.delete(id) && members.size === 0) this.groups.delete(group);
  }

  private push(w: Wakeup): void {
    // Superseded wake-ups stay in the heap until they reach the top; rebuild when they dominate it.
    if (this.heap.length > 1024 && this.heap.length > 4 * this.subs.size) this.compact();
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (h[parent]!.at <= w.at) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = w;
  }

  private pop(): Wakeup {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && h[r]!.at < h[l]!.at ? r : l;
        if (h[c]!.at >= last.at) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }

  private compact(): void {
    const live = this.heap.filter((w) => {
      const s = this.subs.get(w.id);
      return s?.state === 'later' && s.stamp === w.stamp;
    });
    this.heap.length = 0;
    for (const w of live) this.push(w);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

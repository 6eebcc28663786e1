import type { DeliveryRow } from '../sql/rows';
import type { DeliveryStatus, StoredDelivery } from '../types';

/** A delivery leased by an attempt: kept in memory, its row untouched (still pending or retrying). */
export interface Lease {
  owner: string;
  expiresAt: number;
  /** The row's subscription and event type, which never change: a completion needs them without reading the row back. */
  subscriptionId: string;
  eventType: string;
  tenant: string | null;
  /** The row's status, which it keeps while leased: pending until a first attempt, then retrying. */
  waiting: 'pending' | 'retrying';
  /** When it was leased (shown as the delivery's updated_at while it is delivering). */
  at: number;
}

/**
 * The SQLite store's leases (SPEC 4: the single-process store may keep them in memory). One
 * process owns the file, so a lease needs no row of its own: a claim is a read and an entry here,
 * and a delivery changes state once, when its attempt is recorded, instead of twice. After a crash
 * nothing is to be rescued: the rows never left `pending` or `retrying`.
 *
 * Every read of deliveries shows a leased one as `delivering`, as Postgres does with its database
 * leases: reads of waiting rows leave the leased ids out in SQL (heldJson), counts add them as
 * `delivering`, and rows read by id are shown as such (overlay).
 */
export class Leases {
  private readonly byId = new Map<string, Lease>();
  private readonly perSubscription = new Map<string, number>();
  private json: string | undefined;

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Lease | undefined {
    return this.byId.get(id);
  }

  /** Leases held on the subscription's deliveries. */
  heldOn(subscriptionId: string): number {
    return this.perSubscription.get(subscriptionId) ?? 0;
  }

  take(id: string, lease: Lease): void {
    if (this.byId.has(id)) this.drop(id);
    this.byId.set(id, lease);
    this.perSubscription.set(lease.subscriptionId, this.heldOn(lease.subscriptionId) + 1);
    this.json = undefined;
  }

  /** Ends the lease (of `owner` only, when given); returns whether there was one. */
  drop(id: string, owner?: string): boolean {
    const lease = this.byId.get(id);
    if (lease === undefined || (owner !== undefined && lease.owner !== owner)) return false;
    this.byId.delete(id);
    const left = this.heldOn(lease.subscriptionId) - 1;
    if (left > 0) this.perSubscription.set(lease.subscriptionId, left);
    else this.perSubscription.delete(lease.subscriptionId);
    this.json = undefined;
    return true;
  }

  /** Those of `ids` leased by `owner`. */
  ownedBy(ids: readonly string[], owner: string): string[] {
    return ids.filter((id) => this.byId.get(id)?.owner === owner);
  }

  /** The ids whose lease expired by `expiredBy`. */
  expired(expiredBy: number): string[] {
    const ids: string[] = [];
    for (const [id, lease] of this.byId) if (lease.expiresAt <= expiredBy) ids.push(id);
    return ids;
  }

  /** The leased ids as a JSON array: a parameter for `id [NOT] IN (SELECT value FROM json_each(?))`. */
  heldJson(): string {
    this.json ??= JSON.stringify([...this.byId.keys()]);
    return this.json;
  }

  /** Every lease. */
  all(): IterableIterator<Lease> {
    return this.byId.values();
  }

  /** Counts per status with these leased deliveries moved from their row's status to `delivering`. */
  static moveToDelivering(counts: Record<DeliveryStatus, number>, leases: Iterable<Lease>): void {
    for (const lease of leases) {
      counts[lease.waiting]--;
      counts.delivering++;
    }
  }

  /** Leases per subscription id. */
  bySubscription(): Map<string, Lease[]> {
    const out = new Map<string, Lease[]>();
    for (const lease of this.byId.values()) {
      const list = out.get(lease.subscriptionId);
      if (list === undefined) out.set(lease.subscriptionId, [lease]);
      else list.push(lease);
    }
    return out;
  }

  /** The delivery as it reads while leased: `delivering`, changed when it was leased. */
  overlayDelivery<D extends Pick<StoredDelivery, 'id' | 'status' | 'updatedAt'>>(delivery: D): D {
    const at = this.leasedAt(delivery.id, delivery.status);
    return at === undefined ? delivery : { ...delivery, status: 'delivering', updatedAt: at };
  }

  /** The row as it reads while leased: `delivering`, changed when it was leased. */
  overlay<R extends Pick<DeliveryRow, 'id' | 'status' | 'updated_at'>>(row: R): R {
    const at = this.leasedAt(row.id, row.status);
    return at === undefined ? row : { ...row, status: 'delivering', updated_at: at };
  }

  /** When a delivery whose row says `status` was leased, or undefined when it is not (a finished row never is). */
  private leasedAt(id: string, status: DeliveryStatus): number | undefined {
    return status === 'pending' || status === 'retrying' ? this.byId.get(id)?.at : undefined;
  }
}

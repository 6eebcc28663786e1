import type { EventCatalog } from '../../catalog/catalog';
import type { Logger } from '../../lib/logger';
import type { SubscriptionDeps } from '../../subscriptions/service';

/** What the admin API needs of the running relay. The config may change (reload): read it through config(). */
export interface AdminDeps extends SubscriptionDeps {
  logger: Logger;
  /** The event type catalog in force (SPEC 11). */
  catalog: EventCatalog;
  /**
   * Re-reads the config file and applies it (as SIGHUP does); resolves with the number of
   * subscriptions in force. Throws ConfigError for an invalid file (nothing changes) and AppError
   * 409 `not_reloadable` when the relay was not started from a file.
   */
  reload(): Promise<number>;
  /** Wake the tenant erasure worker (DELETE /tenants/{tenant}); absent: its next look finds the erasure. */
  eraseSoon?(): void;
}

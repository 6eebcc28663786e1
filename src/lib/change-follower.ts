import type { Logger } from './logger';

/** How one derived view follows its source: the poll, and what it logs once per outage. */
export interface FollowPolicy {
  /** How often the source is read when nothing announced a change (ms). */
  pollMs: number;
  /** Logged (warn, with the error) when a read fails after one that worked. */
  failing: string;
  /** Logged (info) when a read works again after a failed one. */
  recovered: string;
}

/** Subscribes to announcements of a change (Postgres NOTIFY); its unsubscribe, or undefined where the store announces nothing. */
export type ChangeListen = (onChange: () => void) => (() => void) | undefined;

/**
 * Keeps a derived view (the live set, the event catalog) in step with changes other instances
 * make: `refresh` runs at each announcement, and on a poll as the safety net under them. A failed
 * refresh leaves the view as it was; it is logged once per outage, not at every tick.
 */
export class ChangeFollower {
  private timer: NodeJS.Timeout | undefined;
  private unlisten: (() => void) | undefined;
  private failing = false;
  private following = false;

  constructor(
    private readonly policy: FollowPolicy,
    private readonly logger: Logger,
    private readonly refresh: () => Promise<void>,
  ) {}

  start(listen: ChangeListen): void {
    if (this.following) return;
    this.following = true;
    this.unlisten = listen(() => void this.backgroundRefresh());
    const tick = () => {
      // A refresh that was running when stop() came must not start the poll again.
      if (!this.following) return;
      this.timer = setTimeout(() => void this.backgroundRefresh().finally(tick), this.policy.pollMs);
      // The poll alone must not keep the process alive.
      this.timer.unref();
    };
    tick();
  }

  stop(): void {
    this.following = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.unlisten?.();
    this.unlisten = undefined;
  }

  /** A refresh nobody waits for. */
  private async backgroundRefresh(): Promise<void> {
    try {
      await this.refresh();
      if (this.failing) this.logger.info(this.policy.recovered);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn({ err }, this.policy.failing);
      this.failing = true;
    }
  }
}

/**
 * `run` as a refresh that callers may share: a call while one runs queues the next run (every
 * call during it shares that one), so a caller that wrote a change and then awaits the refresh
 * sees it in force, and a burst of announcements costs two reads, not one each.
 */
export function coalescing(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  let queued: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (queued) return queued;
    if (!running) {
      running = run().finally(() => {
        running = undefined;
      });
      return running;
    }
    queued = running
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return refresh();
      });
    return queued;
  };
  return refresh;
}

import { PerformanceObserver, constants as perf } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/*
 * Keeps the V8 heap near what is live while the relay delivers at full speed.
 *
 * Every attempt allocates objects that live as long as its HTTP exchange (request, parser state,
 * headers, the attempt record); with hundreds in flight many outlive two scavenges and are moved to
 * the old generation, where they die soon after. V8 lets the old generation grow to several times
 * what survived the last full collection before it collects again: at 5,000 deliveries a second
 * the heap (and the RSS with it) climbed from 150 MB of live data to over 600 MB between full
 * collections. The pacer asks V8 for a full collection (run as V8 runs its own, in incremental and
 * concurrent steps, not one long pause) once the heap has grown by half of what was live after the
 * last one, and by at least 64 MB. A relay that allocates little never reaches that.
 */

/** When to collect: the policy, apart from V8 (tested on its own). */
export class HeapPace {
  /** Heap in use after the last full collection, bytes. */
  private live: number;
  /** When the pacer last asked for a collection that has not been seen to end yet (ms), or null. */
  private askedAt: number | null = null;

  constructor(
    liveBytes: number,
    private readonly growth = 0.5,
    private readonly minGrowthBytes = 64e6,
    /** How long a request may go unanswered before it is made again, ms. */
    private readonly retryMs = 2000,
  ) {
    this.live = liveBytes;
  }

  /** A full collection ended (V8's own or one asked for) and left `liveBytes` in use. */
  collected(liveBytes: number): void {
    this.live = liveBytes;
    this.askedAt = null;
  }

  /** Whether to ask for a full collection now, with `usedBytes` in use at `now` (ms). */
  due(usedBytes: number, now: number): boolean {
    // Less in use than after the last collection: that is the live size now.
    if (usedBytes < this.live) this.live = usedBytes;
    if (usedBytes <= this.live + Math.max(this.minGrowthBytes, this.live * this.growth)) return false;
    if (this.askedAt !== null && now - this.askedAt < this.retryMs) return false;
    this.askedAt = now;
    return true;
  }
}

/** Reads the heap every `intervalMs` and asks V8 for a full collection when HeapPace says so. */
export function startHeapPacer(intervalMs = 250): { stop(): void } {
  const used = () => getHeapStatistics().used_heap_size;
  const pace = new HeapPace(used());
  const collect = fullCollection();
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      if ((entry as { detail?: { kind?: number } }).detail?.kind === perf.NODE_PERFORMANCE_GC_MAJOR) pace.collected(used());
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const timer = setInterval(() => {
    if (pace.due(used(), performance.now())) collect();
  }, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      observer.disconnect();
    },
  };
}

/**
 * V8's `gc()`, asked for a major collection run as its own tasks. The function exists once
 * `--expose-gc` is set, in contexts made after that: a new one has it.
 */
function fullCollection(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'major'; execution: 'async' }) => void;
  return () => gc({ type: 'major', execution: 'async' });
}

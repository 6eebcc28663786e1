import { afterEach } from 'vitest';
import { startReceiver, type Receiver } from './receiver';
import { startRelay, type RunningRelay } from './relay';

/**
 * Relays and receivers started through this are stopped and closed after each test (it registers
 * its own afterEach), so a failing test never leaves a port or a SQLite file open for the next.
 */
export function closeAfterEach() {
  const relays: RunningRelay[] = [];
  const receivers: Receiver[] = [];
  afterEach(async () => {
    // Relays first: they may still be sending to the receivers.
    await Promise.all(relays.splice(0).map((r) => r.stop()));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  return {
    async relay(...args: Parameters<typeof startRelay>): Promise<RunningRelay> {
      const relay = await startRelay(...args);
      relays.push(relay);
      return relay;
    },
    async receiver(...args: Parameters<typeof startReceiver>): Promise<Receiver> {
      const receiver = await startReceiver(...args);
      receivers.push(receiver);
      return receiver;
    },
  };
}

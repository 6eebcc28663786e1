import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * What the proxy does to traffic:
 * - `pass`: bytes flow both ways between client and target.
 * - `cut`: every open connection is reset (RST on both sides); new ones are accepted, then reset at once.
 * - `refuse`: nothing listens on the port, so the kernel answers new connections with RST
 *   (ECONNREFUSED); open connections carry on as they were.
 * - `blackhole`: nothing is forwarded or answered in either direction; bytes are read and dropped and
 *   sockets stay open (a hung peer or a silent network partition). New connections are accepted and
 *   held the same way.
 */
export type FaultMode = 'pass' | 'cut' | 'refuse' | 'blackhole';

/** A TCP proxy on 127.0.0.1 in front of one target, whose behaviour a test switches mid-run. */
export interface FaultProxy {
  /** The port clients connect to; fixed for the proxy's life, `refuse` included. */
  readonly port: number;
  /** The current mode; `pass` at start. */
  readonly mode: FaultMode;
  /**
   * Switches mode. The effect on open connections (reset, hold, release) happens before this returns;
   * the promise settles once the port listens again after `refuse` (rejects if it cannot be had back).
   */
  setMode(mode: FaultMode): Promise<void>;
  /** Client connections the proxy holds open now. */
  connections(): number;
  /** Destroys every connection and stops listening; the proxy cannot be used again. */
  close(): Promise<void>;
}

/** One client connection and, unless it arrived in blackhole, its own connection to the target. */
interface Link {
  client: Socket;
  upstream: Socket | null;
  /** In blackhole: nothing crosses, and a close on one side is not passed to the other. */
  held: boolean;
}

// Leaving `refuse` re-binds the same port; another socket may hold it for a moment (or for good).
const RELISTEN_TRIES = 40;
const RELISTEN_PAUSE_MS = 25;

/** Starts a proxy in `pass` mode on 127.0.0.1:<ephemeral port> in front of `targetHost:targetPort`. */
export async function startFaultProxy(target: { targetHost: string; targetPort: number }): Promise<FaultProxy> {
  const links = new Set<Link>();
  let mode: FaultMode = 'pass';
  let closed = false;
  let server: Server | null = null;
  let reopening: Promise<void> | null = null;

  function onConnection(client: Socket): void {
    client.on('error', () => {}); // every failure also ends in 'close', where it is handled
    if (mode === 'cut') {
      reset(client);
      return;
    }
    const link: Link = { client, upstream: null, held: mode === 'blackhole' };
    links.add(link);
    client.on('close', () => {
      links.delete(link);
      link.upstream?.destroy();
    });
    if (link.held) {
      client.on('data', () => {});
      return;
    }
    const upstream = createConnection({ host: target.targetHost, port: target.targetPort, allowHalfOpen: true });
    link.upstream = upstream;
    // A reset on either side is passed on as a reset, so the client sees what the target did.
    client.on('error', () => link.held || reset(upstream));
    upstream.on('error', () => link.held || reset(client));
    upstream.on('close', () => link.held || client.destroy());
    forward(link, client, upstream);
    forward(link, upstream, client);
  }

  const port = await listenWithRetry(0, onConnection);
  server = port.server;

  async function reopen(): Promise<void> {
    const { server: next } = await listenWithRetry(port.port, onConnection);
    // The mode may have gone back to refuse (or the proxy closed) while the port was being had back.
    if (closed || mode === 'refuse') next.close();
    else server = next;
  }

  return {
    port: port.port,
    get mode() {
      return mode;
    },
    async setMode(next) {
      if (closed) throw new Error('fault proxy is closed');
      const previous = mode;
      mode = next;
      if (next === 'cut') {
        for (const link of links) {
          links.delete(link);
          reset(link.client);
          if (link.upstream) reset(link.upstream);
        }
      } else if (previous === 'blackhole' && next !== 'blackhole') {
        // Bytes were dropped in both directions: whatever protocol ran on these is out of step for good.
        for (const link of links) if (link.held) release(link);
      }
      if (next === 'blackhole') {
        for (const link of links) {
          link.held = true;
          // Read (and drop) even if forwarding had paused a side for backpressure.
          link.client.resume();
          link.upstream?.resume();
        }
      }
      if (next === 'refuse') {
        // close() shuts the listening socket now; the connections it accepted are not touched.
        server?.close();
        server = null;
      } else if (server === null) {
        reopening ??= reopen().finally(() => (reopening = null));
        await reopening;
      }
    },
    connections: () => links.size,
    async close() {
      if (closed) return;
      closed = true;
      for (const link of links) release(link);
      await reopening?.catch(() => {});
      const last = server;
      server = null;
      if (last) await new Promise<void>((resolve) => last.close(() => resolve()));
    },
  };

  function release(link: Link): void {
    links.delete(link);
    link.client.destroy();
    link.upstream?.destroy();
  }
}

/** Copies `from` to `to` with backpressure, dropping the bytes while the link is held. */
function forward(link: Link, from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (link.held || to.destroyed) return;
    if (!to.write(chunk)) {
      from.pause();
      to.once('drain', () => from.resume());
    }
  });
  // Half-close is passed on, so a request sent before the client's FIN still gets its answer.
  from.on('end', () => link.held || to.end());
}

/** RST rather than FIN: the peer sees ECONNRESET, as after a crash or a middlebox drop. */
function reset(socket: Socket): void {
  if (socket.destroyed) return;
  // Still connecting: there is no connection to reset yet.
  if (socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

async function listenWithRetry(port: number, onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const server = createServer({ allowHalfOpen: true }, onConnection);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve();
        });
      });
      return { server, port: (server.address() as AddressInfo).port };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= RELISTEN_TRIES) throw err;
      await new Promise((resolve) => setTimeout(resolve, RELISTEN_PAUSE_MS));
    }
  }
}

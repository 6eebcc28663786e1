import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it. */
export interface Received {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** How the receiver answers; a test may swap it mid-run. Return nothing to answer 200. */
export type Handler = (req: Received, res: ServerResponse) => void | Promise<void>;

/**
 * A real HTTP receiver on 127.0.0.1:0 (svix's TestReceiver): records every request and answers
 * with a handler the test can change at any time.
 */
export async function startReceiver(handler: Handler = () => {}) {
  const received: Received[] = [];
  const waiters: { predicate: () => boolean; resolve: () => void }[] = [];
  let current = handler;
  const notify = () => {
    for (const w of waiters.splice(0)) (w.predicate() ? w.resolve : () => waiters.push(w))();
  };

  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const entry: Received = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')])),
      body: Buffer.concat(chunks).toString('utf8'),
      at: Date.now(),
    };
    received.push(entry);
    // Checked on arrival too: a handler that never answers must still wake a test waiting for its request.
    notify();
    try {
      await current(entry, res);
    } finally {
      if (!res.headersSent && !res.destroyed) res.writeHead(200).end('ok');
      notify();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    received,
    /** Change how later requests are answered. */
    setHandler(next: Handler) {
      current = next;
    },
    /** Resolves once `predicate` holds (checked after every request); rejects after `timeoutMs`. */
    waitFor(predicate: (received: Received[]) => boolean, timeoutMs = 15_000): Promise<void> {
      if (predicate(received)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver: condition not met within ${timeoutMs} ms (${received.length} requests)`)),
          timeoutMs,
        );
        waiters.push({ predicate: () => predicate(received), resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close(): Promise<void> {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>;

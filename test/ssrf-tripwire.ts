import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { isIP, type Socket } from 'node:net';

// A second line of defence for the SSRF tests, independent of the guard under test: every socket
// this process opens with net.connect is watched, and one about to dial anything but loopback is
// destroyed before its SYN and recorded. A broken guard then fails the test instead of sending
// packets to 10.0.0.1 or 169.254.169.254 from the machine running it.

const LOOPBACK = /^(127\.|::1$|::ffff:127\.|::ffff:7f)/i;

/** Starts watching; `take()` answers (and forgets) every non-loopback address a socket tried to reach. */
export function armTripwire() {
  const refused: string[] = [];
  const refuse = (socket: Socket, address: string) => {
    refused.push(address);
    socket.destroy(new Error(`tripwire: a test tried to dial ${address}`));
  };
  const onSocket = (message: unknown) => {
    const socket = (message as { socket: Socket }).socket;
    // A name: net emits 'lookup' per resolved address and stops if the socket is destroyed then.
    socket.on('lookup', (err: Error | null, address: string | undefined) => {
      if (!err && address && !LOOPBACK.test(address)) refuse(socket, address);
    });
    // An IP literal never looks up: inspect the host handed to connect().
    const connect = socket.connect.bind(socket) as (...args: unknown[]) => Socket;
    socket.connect = ((...args: unknown[]) => {
      const options = args[0] as { host?: string } | unknown[];
      const host = Array.isArray(options) ? (options[0] as { host?: string }).host : options.host;
      if (host && isIP(host) !== 0 && !LOOPBACK.test(host)) {
        refuse(socket, host);
        return socket;
      }
      return connect(...args);
    }) as Socket['connect'];
  };
  subscribe('net.client.socket', onSocket);
  return {
    /** Non-loopback addresses some socket tried to dial (and was stopped from dialling) since the last take(). */
    take: () => refused.splice(0),
    disarm: () => unsubscribe('net.client.socket', onSocket),
  };
}

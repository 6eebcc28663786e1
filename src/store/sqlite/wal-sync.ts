import { closeSync, fdatasync, openSync } from 'node:fs';

/** Flushes a file descriptor to stable storage; resolves when it is there. */
export type SyncFd = (fd: number) => Promise<void>;

/** fdatasync on libuv's thread pool: the event loop keeps running while the disk flushes. */
export const fdatasyncOffLoop: SyncFd = (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));

/**
 * Durable ingest without blocking the event loop. An ingest transaction commits with
 * `synchronous = NORMAL` (its WAL frames are written, not flushed), then this flushes the WAL file
 * off the event loop, and only then is the request answered. That is the same promise as
 * `synchronous = FULL` (the commit is on disk before the 2xx), but the relay keeps delivering and
 * reading requests during the flush instead of waiting in it. fsync is per file, not per
 * descriptor, so a descriptor of our own flushes what SQLite wrote through its own; a flush
 * started after a commit covers every frame of that commit (and of every commit before it), and
 * WAL recovery keeps exactly the commits whose frames all reached the disk. SQLite still syncs the
 * WAL before each checkpoint and the database after it, as it does in NORMAL.
 */
export function createWalSync(walPath: string, syncFd: SyncFd = fdatasyncOffLoop) {
  let fd: number | undefined;
  return {
    /** Resolves once every WAL frame committed before the call is on stable storage. */
    async sync(): Promise<void> {
      // Opened on first use: the -wal file exists once the connection has written.
      fd ??= openSync(walPath, 'r');
      await syncFd(fd);
    },
    close(): void {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}

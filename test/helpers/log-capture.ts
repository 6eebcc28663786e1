import type pino from 'pino';
import { createLogger, type Logger } from '../../src/lib/logger';

/**
 * A logger configured like the relay's own (same redact paths) whose JSON lines are kept in memory,
 * raw and parsed, for tests that assert on what gets logged (and on what never does).
 */
export function captureLogs(level = 'debug'): { logger: Logger; lines: string[]; entries: () => Record<string, unknown>[] } {
  const lines: string[] = [];
  const stream: pino.DestinationStream = { write: (line: string) => void lines.push(line) };
  return {
    logger: createLogger({ level, format: 'json' }, stream),
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

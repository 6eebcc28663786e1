import pino from 'pino';

export type Logger = pino.Logger;

/** Paths redacted from every log line, so a secret logged by mistake never reaches the log store. */
const REDACT = ['secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'];

/**
 * JSON logs to stdout (pino). `pretty` renders a readable line with a small built-in formatter
 * instead of pino-pretty, so no dev-only dependency is bundled.
 */
export function createLogger(opts: { level: string; format?: 'json' | 'pretty' | undefined }): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === undefined && process.stdout.isTTY === true);
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: undefined,
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return pretty ? pino(options, prettyStream()) : pino(options);
}

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

function prettyStream(): pino.DestinationStream {
  return {
    write(line: string) {
      const { level, time, msg, ...rest } = JSON.parse(line) as Record<string, unknown>;
      const extra = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      process.stdout.write(`${String(time).slice(11, 23)} ${LEVELS[level as number] ?? level} ${msg ?? ''} ${extra}\n`);
    },
  };
}

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = pino({ level: 'silent' });

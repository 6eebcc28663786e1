// Parsers for the human units used in the config file. They throw with a message an operator
// can act on; the config schema turns those messages into problems with a path and a line.

/** What a valid duration looks like, quoted in every duration error. */
export const DURATION_HINT = 'expected a duration like 500ms, 10s, 5m, 2h or 7d';
/** What a valid size looks like, quoted in every size error. */
export const SIZE_HINT = 'expected a size like 512b, 64kb, 1mb or 1gb';
/** What a valid rate looks like, quoted in every rate error. */
export const RATE_HINT = 'expected a rate like 1000/s, 600/m or 10/h, or off';

const MS_PER_UNIT: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const BYTES_PER_UNIT: Record<string, number> = {
  b: 1,
  kb: 1024,
  mb: 1024 ** 2,
  gb: 1024 ** 3,
};

/** A limit of `limit` events per window of `perMs` milliseconds. */
export interface Rate {
  /** Most events allowed in one window. */
  limit: number;
  /** Length of the window in ms. */
  perMs: number;
}

/** "10s" → 10000 (ms). Decimals are allowed ("1.5s"); a bare number is rejected because its unit would be a guess. */
export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s.trim());
  if (!m) throw new Error(`${DURATION_HINT}, got ${quote(s)}`);
  return Math.round(Number(m[1]) * MS_PER_UNIT[m[2]!]!);
}

/** "64kb" → 65536 (bytes); binary units (1kb = 1024), case-insensitive. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)$/i.exec(s.trim());
  if (!m) throw new Error(`${SIZE_HINT}, got ${quote(s)}`);
  return Math.floor(Number(m[1]) * BYTES_PER_UNIT[m[2]!.toLowerCase()]!);
}

/** "50/s" → {limit: 50, perMs: 1000}; "off" → null (no limit). */
export function parseRate(s: string): Rate | null {
  const text = s.trim();
  if (text === 'off') return null;
  const m = /^(\d+)\s*\/\s*(s|m|h|d)$/.exec(text);
  const limit = Number(m?.[1]);
  if (!m || limit < 1) throw new Error(`${RATE_HINT}, got ${quote(s)}`);
  return { limit, perMs: MS_PER_UNIT[m[2]!]! };
}

/** 1500 → "1.5s", 300000 → "5m": a duration (ms) in the units the config file uses, for messages. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    const size = MS_PER_UNIT[unit]!;
    // Two decimals at most: "1.33h" reads better than "1.3333333333h".
    if (abs >= size) return `${sign}${Number((abs / size).toFixed(2))}${unit}`;
  }
  return `${sign}${Number(abs.toFixed(2))}ms`;
}

function quote(s: string): string {
  return `'${s}'`;
}

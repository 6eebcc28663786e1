/** Source of the current time in epoch milliseconds; injected so tests can control time (STYLE 5). */
export interface Clock {
  now(): number;
}

/** The wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

import { randomBytes } from 'node:crypto';

// Crockford base32: ids sort by time as plain strings, and read unambiguously.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = -1;
let lastRandom: Uint8Array = new Uint8Array(16);

/**
 * A ULID: 26 characters, 10 of time (ms) and 16 of randomness, monotonic within a process
 * (ids made in the same millisecond increment the random part, so they still sort in creation order).
 */
export function ulid(now: number): string {
  if (now <= lastTime) {
    increment(lastRandom);
    now = lastTime;
  } else {
    lastTime = now;
    lastRandom = randomDigits();
  }
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (const d of lastRandom) rand += ALPHABET[d];
  return time + rand;
}

function randomDigits(): Uint8Array {
  const bytes = randomBytes(16);
  // Leave headroom in the top digit so increments within one millisecond never overflow.
  bytes[0] = bytes[0]! & 0x0f;
  for (let i = 1; i < 16; i++) bytes[i] = bytes[i]! & 0x1f;
  return bytes;
}

function increment(digits: Uint8Array): void {
  for (let i = digits.length - 1; i >= 0; i--) {
    if (digits[i]! < 31) {
      digits[i]!++;
      return;
    }
    digits[i] = 0;
  }
}

/** Event id made by the relay: `evt_` + ULID. */
export const newEventId = (now: number) => `evt_${ulid(now)}`;
/** Delivery id: `dlv_` + ULID. */
export const newDeliveryId = (now: number) => `dlv_${ulid(now)}`;
/** A subscription id the relay makes when the API was given none (SPEC 9): `sub_` + 26 lower-case characters; config ids may not take the prefix. */
export const newSubscriptionId = (now: number) => `sub_${ulid(now).toLowerCase()}`;
/** Attempt id, sent as `<prefix>Delivery`: unique to one attempt. */
export const newAttemptId = (now: number) => `att_${ulid(now)}`;

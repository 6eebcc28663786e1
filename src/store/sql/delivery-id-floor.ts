// Crockford base32, as in src/lib/ids.ts.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const MAX_ULID_TIME = 32 ** 10 - 1;

/**
 * The smallest id a delivery created at or after `at` (epoch ms) can have: `dlv_` + the ULID time
 * part of `at`. Safe because the store makes every delivery id with newDeliveryId(created_at), and
 * a ULID's time part is never below the time it was asked for (monotonic ids only round up). Lets
 * a `since` filter bound the id range of an index walk; `until` has no such bound.
 */
export function deliveryIdFloor(at: number): string {
  let t = Math.min(Math.max(Math.ceil(at), 0), MAX_ULID_TIME);
  let time = '';
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return `dlv_${time}`;
}

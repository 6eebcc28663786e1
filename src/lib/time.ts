/** Epoch ms as ISO 8601 (the API's time format); null and undefined stay null. */
export const isoOrNull = (ms: number | null | undefined): string | null =>
  ms === null || ms === undefined ? null : new Date(ms).toISOString();

// AND/OR over already compiled tests. Small arities get their own closures because they are the
// common case and a loop over a one-element array is pure overhead on the ingest hot path.

/** True when every test passes; no tests means always true (an empty filter matches everything). */
export function allOf<T>(tests: readonly ((x: T) => boolean)[]): (x: T) => boolean {
  const [a, b] = tests;
  if (tests.length === 0 || a === undefined) return () => true;
  if (tests.length === 1) return a;
  if (tests.length === 2 && b !== undefined) return (x) => a(x) && b(x);
  return (x) => {
    for (const t of tests) if (!t(x)) return false;
    return true;
  };
}

/** True when at least one test passes; no tests means never (callers reject empty `$or` first). */
export function anyOf<T>(tests: readonly ((x: T) => boolean)[]): (x: T) => boolean {
  const [a, b] = tests;
  if (tests.length === 0 || a === undefined) return () => false;
  if (tests.length === 1) return a;
  if (tests.length === 2 && b !== undefined) return (x) => a(x) || b(x);
  return (x) => {
    for (const t of tests) if (t(x)) return true;
    return false;
  };
}

/** The test used where compilation failed; its result is never seen because errors win. */
export const never = (): boolean => false;

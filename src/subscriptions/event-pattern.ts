/**
 * Compiles `events` patterns (SPEC 6) into one predicate. Patterns match segment by segment;
 * a trailing `*` matches one or more further segments; `*` alone matches every type.
 */
export function compileEventPatterns(patterns: readonly string[]): (type: string) => boolean {
  if (patterns.includes('*')) return matchesEvery;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('.*'))
      prefixes.push(pattern.slice(0, -1)); // keep the dot: "payment."
    else exact.add(pattern);
  }
  return (type) => exact.has(type) || prefixes.some((prefix) => type.length > prefix.length && type.startsWith(prefix));
}

/** One predicate shared by every `*` subscription (a live set may hold 100,000 of them). */
const matchesEvery = () => true;

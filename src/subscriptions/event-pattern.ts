/** The prefix of the relay's own event types (SPEC 12): only patterns that name it match them. */
export const RESERVED_PREFIX = 'hookrelay.';

/**
 * Compiles `events` patterns (SPEC 6) into one predicate. Patterns match segment by segment;
 * a trailing `*` matches one or more further segments; `*` alone matches every type except the
 * reserved `hookrelay.*` ones (SPEC 12), which only patterns starting `hookrelay.` match.
 */
export function compileEventPatterns(patterns: readonly string[]): (type: string) => boolean {
  const ordinary = compile(patterns);
  const reserved = compile(patterns.filter((p) => p.startsWith(RESERVED_PREFIX)));
  return (type) => (type.startsWith(RESERVED_PREFIX) ? reserved(type) : ordinary(type));
}

function compile(patterns: readonly string[]): (type: string) => boolean {
  if (patterns.includes('*')) return () => true;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const pattern of patterns) {
    if (pattern.endsWith('.*'))
      prefixes.push(pattern.slice(0, -1)); // keep the dot: "payment."
    else exact.add(pattern);
  }
  return (type) => exact.has(type) || prefixes.some((prefix) => type.length > prefix.length && type.startsWith(prefix));
}

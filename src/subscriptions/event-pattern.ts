/** The prefix of the relay's own event types (SPEC 12): only patterns that name it match them. */
export const RESERVED_PREFIX = 'hookrelay.';

/**
 * Compiles `events` patterns (SPEC 6) into one predicate. Patterns match segment by segment;
 * a trailing `*` matches one or more further segments; `*` alone matches every type except the
 * reserved `hookrelay.*` ones (SPEC 12), which only patterns starting `hookrelay.` match.
 */
export function compileEventPatterns(patterns: readonly string[]): (type: string) => boolean {
  const reserved = patterns.filter((p) => p.startsWith(RESERVED_PREFIX));
  // The usual `*`: one predicate shared by every such subscription (a live set may hold 100,000).
  if (reserved.length === 0 && patterns.includes('*')) return matchesOrdinary;
  const ordinary = compile(patterns);
  const ours = compile(reserved);
  return (type) => (type.startsWith(RESERVED_PREFIX) ? ours(type) : ordinary(type));
}

function compile(patterns: readonly string[]): (type: string) => boolean {
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

const matchesEvery = () => true;
/** `*` alone: every type but the relay's own. */
const matchesOrdinary = (type: string) => !type.startsWith(RESERVED_PREFIX);

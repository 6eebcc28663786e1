import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The layout rules of STYLE.md, checked on the source itself: one direction of dependency, no import
// cycles (type-only imports included: a type imported back into the composition root is a cycle a
// reader trips over too), and each store backend its own dialect.

const SRC = resolve(__dirname, '../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'client' ? [] : sourceFiles(path);
    return path.endsWith('.ts') && !path.endsWith('.test.ts') ? [path] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm;

/** src-relative path → src-relative paths it imports (relative imports only; packages are leaves). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const targets: string[] = [];
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (!spec!.startsWith('.')) continue;
      const base = resolve(dirname(file), spec!);
      const found = [`${base}.ts`, join(base, 'index.ts')].find((p) => existsSync(p));
      if (found?.startsWith(SRC)) targets.push(relative(SRC, found));
    }
    graph.set(relative(SRC, file), targets);
  }
  return graph;
}

/** Every strongly connected component with more than one file (Tarjan), i.e. every import cycle. */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return found;
}

const graph = importGraph();
const importsOf = (prefix: string): [string, string][] =>
  [...graph].filter(([file]) => file.startsWith(prefix)).flatMap(([file, to]) => to.map((t): [string, string] => [file, t]));

describe('source layout', () => {
  it('reads the real tree', () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get('app.ts')).toContain('subscriptions/live-set.ts');
  });

  it('has no import cycle in src/', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('imports the composition root (app.ts) from nowhere but main and cli', () => {
    const importers = [...graph].filter(([, to]) => to.includes('app.ts')).map(([file]) => file);
    expect(importers.filter((f) => !f.startsWith('cli/') && f !== 'main.ts')).toEqual([]);
  });

  it('keeps the Postgres store free of the SQLite store, and the store free of the layers above it', () => {
    expect(importsOf('store/postgres/').filter(([, to]) => to.startsWith('store/sqlite/'))).toEqual([]);
    expect(importsOf('store/sqlite/').filter(([, to]) => to.startsWith('store/postgres/'))).toEqual([]);
    const above = ['http/', 'dispatch/', 'subscriptions/', 'ingest/', 'app.ts', 'cli/'];
    expect(importsOf('store/').filter(([, to]) => above.some((a) => to.startsWith(a)))).toEqual([]);
  });

  it('keeps HTTP out of dispatch, subscriptions and the store', () => {
    const http = [...graph].filter(
      ([file]) =>
        ['dispatch/', 'subscriptions/', 'store/'].some((p) => file.startsWith(p)) &&
        /from ['"]hono/.test(readFileSync(join(SRC, file), 'utf8')),
    );
    expect(http.map(([file]) => file)).toEqual([]);
    expect(importsOf('dispatch/').filter(([, to]) => to.startsWith('http/'))).toEqual([]);
    expect(importsOf('subscriptions/').filter(([, to]) => to.startsWith('http/'))).toEqual([]);
  });

  it('finds a cycle when there is one (the checker itself works)', () => {
    const g = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts']],
      ['d.ts', ['a.ts']],
    ]);
    expect(cycles(g)).toEqual([['a.ts', 'b.ts', 'c.ts']]);
  });
});

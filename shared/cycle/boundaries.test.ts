/**
 * The cycle's boundary, kept: its steps get storage through their ports (`store.ts`), so no file under
 * shared/cycle holds SQL, imports the PostgreSQL adapters or names their client types.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';

const ROOT = import.meta.dirname;
const sources = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
const THIS = 'boundaries.test.ts';

const RULES: [string, RegExp][] = [
  ['an import from adapters/postgres', /from\s+'[^']*adapters\/postgres\//],
  ['the Sql or TransactionSql type', /\b(Sql|TransactionSql)\b/],
  ['a tagged SQL template', /\b(sql|tx|db)(<[^>]*>)?`/],
  ['an unsafe SQL call', /\.unsafe\(/],
];

for (const [what, pattern] of RULES) {
  test(`no file of the cycle holds ${what}`, () => {
    const found = sources(ROOT)
      .filter((f) => relative(ROOT, f) !== THIS)
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => [line, i] as const)
          .filter(([line]) => pattern.test(line))
          .map(([, i]) => `${relative(ROOT, f)}:${i + 1}`),
      );
    assert.deepEqual(found, []);
  });
}

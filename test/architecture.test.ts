/**
 * The layout's promises, checked on the source text (no peers needed): SQL is written only by the
 * PostgreSQL adapters (one owner module per table), and no source file grows past 400 lines without
 * saying why at its top. Import rules (no circles, the library never imports eval/dev code, the steps
 * and the API reach PostgreSQL only through their stores) are checked by dependency-cruiser in
 * `npm run lint` (.dependency-cruiser.cjs).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const MAX_LINES = 400;
/** A file longer than MAX_LINES says why in its first comment ("Longer than 400 lines because …"). */
const LENGTH_REASON = /(over|longer than) 400 lines because/i;

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(join(ROOT, dir));
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Product code: what the functions deploy and the commands users run. */
const PRODUCT = ['shared', 'functions', 'scripts'].flatMap(sourceFiles);
const SQL_OWNERS = /^shared\/adapters\/postgres\//;

/** A tagged template named like a SQL client, or one whose text opens with a SQL keyword; `.unsafe(`. */
const SQL_PATTERNS = [
  /\b(sql|tx|db|pg|client)`/,
  /(?<![`\w])\w+`\s*(select|insert|update|delete|with|create|alter|drop|truncate|lock|vacuum|analyze)\b/i,
  /\.unsafe\(/,
];

describe('architecture', () => {
  it('finds the product code it checks', () => {
    assert.ok(PRODUCT.length > 50, `only ${PRODUCT.length} source files found under ${ROOT}`);
    assert.ok(PRODUCT.some((f) => SQL_OWNERS.test(f)));
  });

  it('writes SQL only in shared/adapters/postgres', () => {
    const offenders: string[] = [];
    for (const file of PRODUCT.filter((f) => !SQL_OWNERS.test(f))) {
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\*|\/\/|\/\*)/.test(line)) return; // comments may quote SQL
          if (SQL_PATTERNS.some((p) => p.test(line))) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, [], 'SQL outside the PostgreSQL adapters: give the caller a store instead');
  });

  it('catches the SQL it is meant to catch', () => {
    const hits = (line: string) => SQL_PATTERNS.some((p) => p.test(line));
    assert.ok(hits('await sql`select 1`'));
    assert.ok(hits('const rows = await deps.sql`'));
    assert.ok(hits('await tx`insert into runs values (1)`'));
    assert.ok(hits('q`DELETE FROM runs`'));
    assert.ok(hits('await client.unsafe(text)'));
    assert.ok(!hits('const label = `${range}:${id}`;'));
    assert.ok(!hits('logger.info(`select a range`)'));
    assert.ok(!hits("description: '`from`/`to` select anomalies active in [from, to).',"));
  });

  it(`keeps source files under ${MAX_LINES} lines, or says why at the top`, () => {
    const long: string[] = [];
    for (const file of [...PRODUCT, ...['eval', 'dev', 'bench'].flatMap(sourceFiles)]) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      const lines = text.replace(/\n$/, '').split('\n').length;
      const header = text.slice(0, text.indexOf('*/') + 2);
      if (lines > MAX_LINES && !LENGTH_REASON.test(header))
        long.push(`${relative(ROOT, join(ROOT, file))}: ${lines}`);
    }
    assert.deepEqual(
      long,
      [],
      `files over ${MAX_LINES} lines without "Longer than 400 lines because …" in their header`,
    );
  });
});

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

/**
 * A tagged template named like a SQL client (with or without a type argument, which may span lines),
 * or one whose text opens with a SQL keyword; `.unsafe(`.
 */
const SQL_PATTERNS = [
  /\b(sql|tx|db|pg|client)\s*(<[^`()=]*?>)?\s*`/,
  /(?<![`\w])\w+`\s*(select|insert|update|delete|with|create|alter|drop|truncate|lock|vacuum|analyze)\b/i,
  /\.unsafe\(/,
];

/** The text without comments (they may quote SQL), line numbers kept. */
const withoutComments = (text: string) =>
  text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|\s)\/\/.*$/gm, '$1');

/** Where SQL stands in a file's text: `line: text` of each match. */
function sqlIn(text: string): string[] {
  const code = withoutComments(text);
  const out: string[] = [];
  for (const pattern of SQL_PATTERNS) {
    for (const m of code.matchAll(new RegExp(pattern.source, `${pattern.flags}g`))) {
      const line = code.slice(0, m.index).split('\n').length;
      out.push(`${line}: ${text.split('\n')[line - 1]?.trim()}`);
    }
  }
  return [...new Set(out)];
}

describe('architecture', () => {
  it('finds the product code it checks', () => {
    assert.ok(PRODUCT.length > 50, `only ${PRODUCT.length} source files found under ${ROOT}`);
    assert.ok(PRODUCT.some((f) => SQL_OWNERS.test(f)));
  });

  it('writes SQL only in shared/adapters/postgres', () => {
    const offenders = PRODUCT.filter((f) => !SQL_OWNERS.test(f)).flatMap((file) =>
      sqlIn(readFileSync(join(ROOT, file), 'utf8')).map((hit) => `${file}:${hit}`),
    );
    assert.deepEqual(offenders, [], 'SQL outside the PostgreSQL adapters: give the caller a store instead');
  });

  it('catches the SQL it is meant to catch', () => {
    const hits = (text: string) => sqlIn(text).length > 0;
    assert.ok(hits('await sql`select 1`'));
    assert.ok(hits('const rows = await deps.sql`'));
    assert.ok(hits('const wm = await stack.storage.sql<{ ms: number | null }[]>`\n  select 1`'));
    assert.ok(hits('const rows = await db<\n  { id: string; n: number }[]\n>`select id from nodes`'));
    assert.ok(hits('await tx`insert into runs values (1)`'));
    assert.ok(hits('q`DELETE FROM runs`'));
    assert.ok(hits('await client.unsafe(text)'));
    assert.ok(!hits('const label = `${range}:${id}`;'));
    assert.ok(!hits('logger.info(`select a range`)'));
    assert.ok(!hits("description: '`from`/`to` select anomalies active in [from, to).',"));
    assert.ok(!hits('/** `base` with `overrides` merged in */\n// sql`select 1` in a comment'));
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

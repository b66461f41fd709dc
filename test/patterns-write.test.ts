/**
 * writePatterns (adapters/postgres/patterns.ts) against PostgreSQL: many districts' patterns, more JSON
 * than one statement may carry, are all stored — in statements of at most MAX_PATTERN_STATEMENT_BYTES of
 * JSON (the statements are seen through postgres.js's `debug` hook), the network's row in the last one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import {
  MAX_PATTERN_STATEMENT_BYTES,
  readPatterns,
  readPatternsDay,
  writePatterns,
} from '../shared/adapters/postgres/patterns.ts';

describe('writePatterns in bounded statements', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: postgres.Sql;
  const statements: { bodies: number; bytes: number; districts: string[] }[] = [];

  before(async () => {
    db = await createTestDatabase();
    await migrate(db.sql);
    sql = postgres(db.url, {
      max: 1,
      onnotice: () => {},
      debug: (_conn, query, params) => {
        if (!/insert into consumption_patterns/.test(query)) return;
        const bodies = params[4] as string[];
        statements.push({
          bodies: bodies.length,
          bytes: bodies.reduce((n, b) => n + b.length, 0),
          districts: params[1] as string[],
        });
      },
    });
  });
  after(async () => {
    await sql?.end();
    await db?.drop();
  });

  test('40 districts of ~100 KB each (~4 MB): every row stored, no statement over the bound', async () => {
    const rows = Array.from({ length: 41 }, (_, i) => {
      const districtId = i === 40 ? '*' : `d${String(i).padStart(3, '0')}`;
      return {
        tenantId: 't1',
        districtId,
        asOfDay: '2026-06-01',
        computedAtMs: Date.UTC(2026, 5, 2),
        body: { districtId, hours: Array.from({ length: 10_000 }, (_, h) => h + i / 7) },
      };
    });
    await writePatterns(sql, rows);
    assert.ok(statements.length >= 4, `${statements.length} statements for ~4 MB`);
    for (const s of statements) assert.ok(s.bytes <= MAX_PATTERN_STATEMENT_BYTES, `${s.bytes} bytes in one`);
    assert.equal(
      statements.reduce((n, s) => n + s.bodies, 0),
      rows.length,
    );
    assert.deepEqual(statements.at(-1)?.districts.at(-1), '*', "the network's row in the last statement");
    for (const r of rows) assert.deepEqual(await readPatterns(sql, 't1', r.districtId), r.body);
    assert.equal(await readPatternsDay(sql, 't1'), '2026-06-01');
  });

  test('a statement failing part-way leaves every stored pattern as it was (one transaction)', async () => {
    const before = await readPatterns(sql, 't1', 'd000');
    const rows = Array.from({ length: 41 }, (_, i) => {
      const districtId = i === 40 ? '*' : `d${String(i).padStart(3, '0')}`;
      return {
        tenantId: 't1',
        districtId,
        asOfDay: '2026-06-02',
        // The network's row, in the last statement, cannot be stored: PostgreSQL refuses a NaN timestamp.
        computedAtMs: i === 40 ? Number.NaN : Date.UTC(2026, 5, 3),
        body: { districtId, day: 2, hours: Array.from({ length: 10_000 }, (_, h) => h - i / 7) },
      };
    });
    const seen = statements.length;
    await assert.rejects(writePatterns(sql, rows), /NaN/);
    assert.ok(statements.length - seen >= 4, 'the earlier statements ran before the failing one');
    assert.deepEqual(await readPatterns(sql, 't1', 'd000'), before, 'the first statement rolled back');
    assert.equal(await readPatternsDay(sql, 't1'), '2026-06-01');
  });
});

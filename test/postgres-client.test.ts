/**
 * The pool's own sockets (Nagle off, see shared/adapters/postgres/client.ts): they carry queries,
 * transactions and COPY, reconnect after the server drops them, and fail fast when nothing listens.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { connect, type Sql } from '../shared/adapters/postgres/client.ts';

describe('postgres client', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let sql: Sql;

  before(async () => {
    db = await createTestDatabase();
    sql = connect(db.url, { max: 2 });
  });
  after(async () => {
    await sql?.end({ timeout: 1 });
    await db?.drop();
  });

  test('queries, transactions and COPY work', async () => {
    const [row] = await sql<{ n: number }[]>`select 41 + 1 as n`;
    assert.equal(row?.n, 42);
    await sql`create table t (a int)`;
    await sql.begin(async (tx) => {
      const stream = await tx`copy t from stdin`.writable();
      await new Promise<void>((resolve, reject) => {
        stream.on('error', reject);
        stream.end('1\n2\n3\n', resolve);
      });
    });
    const [sum] = await sql<{ s: number }[]>`select sum(a)::int4 as s from t`;
    assert.equal(sum?.s, 6);
  });

  test('reconnects after the server ends the connection', async () => {
    const [{ pid }] = (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`) as unknown as [
      { pid: number },
    ];
    const other = connect(db.url, { max: 1 });
    try {
      await other`select pg_terminate_backend(${pid})`;
    } finally {
      await other.end();
    }
    // The dropped connection may fail one query; the pool then opens a new socket.
    let answer: number | undefined;
    for (let attempt = 0; attempt < 3 && answer === undefined; attempt++) {
      answer = await sql<{ n: number }[]>`select 7 as n`.then(
        (rows) => rows[0]?.n,
        () => undefined,
      );
    }
    assert.equal(answer, 7);
  });

  test('fails fast when nothing listens', async () => {
    const nowhere = connect('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    try {
      await assert.rejects(nowhere`select 1`, /ECONNREFUSED/);
    } finally {
      await nowhere.end({ timeout: 1 });
    }
  });
});

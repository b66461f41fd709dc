/**
 * The pool's own sockets (Nagle off, see shared/adapters/postgres/client.ts): they carry queries,
 * transactions and COPY, reconnect after the server drops them, and fail fast when nothing listens.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { startFaultProxy } from '../dev/fault-proxy.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { connect, poolSockets, type Sql } from '../shared/adapters/postgres/client.ts';

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

  // The aggregator's pool (coalesceWrites): a node batch's pipelined statements, each over 1 KiB, were
  // one socket write (a system call, a loopback send) each; corked for the turn they leave together.
  test('with coalesceWrites, statements issued together leave in one write', async () => {
    const writesOf = async (coalesceWrites: boolean) => {
      const sockets = poolSockets({ coalesceWrites });
      let writes = 0;
      const pool = postgres(db.url, {
        max: 1,
        onnotice: () => {},
        ...({
          socket: (o: Parameters<ReturnType<typeof poolSockets>>[0]) => {
            type Write = (this: Socket, ...args: unknown[]) => void;
            const socket: Socket & { _write: Write; _writev: Write } = sockets(o) as never;
            const write = socket._write;
            const writev = socket._writev;
            socket._write = function (this: Socket, ...args: unknown[]) {
              writes++;
              return write.apply(this, args);
            };
            socket._writev = function (this: Socket, ...args: unknown[]) {
              writes++;
              return writev.apply(this, args);
            };
            return socket;
          },
        } as object),
      });
      try {
        const big = 'x'.repeat(2000);
        const batch = () =>
          pool.begin((tx) => Promise.all(Array.from({ length: 10 }, (_, i) => tx`select ${big + i} as s`)));
        await batch(); // prepares the statement: the second batch pipelines, as the cycle's do
        writes = 0;
        const rows = await batch();
        assert.deepEqual(
          rows.map((r) => r[0]?.s),
          Array.from({ length: 10 }, (_, i) => big + i),
        );
        return writes;
      } finally {
        await pool.end({ timeout: 1 });
      }
    };
    const apart = await writesOf(false);
    const together = await writesOf(true);
    assert.ok(apart >= 10, `without: a write per statement (${apart})`);
    // begin, the ten statements, commit: begin and commit are small and go on their own turns.
    assert.ok(together <= 3, `with: the ten statements in one write (${together} writes in all)`);
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

  // The race bench:soak met: a query issued after the socket's 'error' but before Node's 'close'
  // (setImmediate runs in between, as any I/O callback can) was handed to the dead connection and
  // never settled, and its bytes led the next connection's start-up (the server answered 08P01).
  // patches/postgres+3.4.9.patch rejects it as a lost connection; the next query goes to a fresh one.
  test('a query issued just after a connection fails settles, never hangs', { timeout: 30_000 }, async () => {
    const target = new URL(db.url);
    const proxy = await startFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const viaProxy = new URL(db.url);
    viaProxy.port = String(proxy.port);
    const sockets = poolSockets();
    let socketErrors = 0;
    let raced: Promise<number | Error | undefined> | undefined;
    const pool = postgres(viaProxy.toString(), {
      max: 1,
      onnotice: () => {},
      ...({
        socket: (o: Parameters<ReturnType<typeof poolSockets>>[0]) => {
          const socket: Socket = sockets(o);
          socket.on('error', () => {
            socketErrors++;
            raced ??= new Promise((resolve) =>
              setImmediate(() =>
                resolve(
                  pool<{ n: number }[]>`select 8 as n`.then(
                    (rows) => rows[0]?.n,
                    (error: Error) => error,
                  ),
                ),
              ),
            );
          });
          return socket;
        },
      } as object),
    });
    try {
      await pool`select 1`; // the one connection is open and idle
      assert.equal(proxy.cut(), 1);
      while (!raced) await new Promise((resolve) => setImmediate(resolve));
      // A deadline only to fail a regression cleanly instead of hanging the run; not a speed check.
      const lost = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('the query was lost: it never settled')), 15_000).unref(),
      );
      const settled = await Promise.race([raced, lost]);
      assert.ok(
        settled === 8 ||
          (settled instanceof Error &&
            /CONNECTION_CLOSED|ECONNRESET/.test(String((settled as { code?: string }).code))),
        `answered or failed as a lost connection, got ${String(settled)}`,
      );
      assert.ok(socketErrors >= 1, 'the cut reached the pool as a socket error');
      const [again] = await pool<{ n: number }[]>`select 9 as n`;
      assert.equal(again?.n, 9, 'the pool goes on on a fresh connection');
    } finally {
      await pool.end({ timeout: 1 });
      await proxy.close();
    }
  });

  // The array types postgres.js fetches on a new connection's first query: a connection lost during
  // that query rejected a promise nothing awaited, and the unhandled rejection ended the process.
  test('a connection lost while it fetches its types fails its query, not the process', async () => {
    const target = new URL(db.url);
    let cuts = 0;
    const live = new Set<Socket>();
    const proxy = createServer((client) => {
      const upstream = tcpConnect(Number(target.port || 5432), target.hostname);
      live.add(client);
      const close = () => {
        live.delete(client);
        client.destroy();
        upstream.destroy();
      };
      client.on('data', (chunk: Buffer) => {
        if (cuts === 0 && chunk.includes('typcategory')) {
          cuts++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        upstream.write(chunk);
      });
      upstream.on('data', (chunk: Buffer) => client.write(chunk));
      for (const s of [client, upstream]) {
        s.on('error', close);
        s.on('close', close);
      }
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const viaProxy = new URL(db.url);
    viaProxy.port = String((proxy.address() as { port: number }).port);
    const pool = connect(viaProxy.toString(), { max: 1 });
    try {
      await assert.rejects(pool`select 1`, (e: { code?: string }) =>
        /ECONNRESET|CONNECTION_CLOSED/.test(String(e.code)),
      );
      assert.equal(cuts, 1, 'the connection was cut during the type fetch');
      const [row] = await pool<{ tags: string[] }[]>`select array['a', 'b']::text[] as tags`;
      assert.deepEqual(row?.tags, ['a', 'b'], 'the next connection fetched the types and parses arrays');
    } finally {
      await pool.end({ timeout: 1 });
      for (const s of live) s.destroy();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });
});

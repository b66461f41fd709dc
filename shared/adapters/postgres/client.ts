/**
 * The PostgreSQL connection: postgres.js with a small bounded pool per instance, idle and lifetime
 * timeouts (serverless instances come and go; Cloud SQL has a connection limit: max instances ×
 * PG_POOL_MAX must stay under it — see terraform/README.md). Queries cast int8 results to float8
 * or int4 where they want numbers (postgres.js returns int8 as strings).
 */
import net from 'node:net';
import postgres from 'postgres';

export type Sql = postgres.Sql;
export type TransactionSql = postgres.TransactionSql;

export interface PoolOptions {
  max: number;
  idleTimeoutSeconds: number;
  maxLifetimeSeconds: number;
  /** From opening the socket to the server being ready for queries (10 s by default). */
  connectTimeoutMs: number;
  /**
   * The server cancels any statement of this pool running longer (`statement_timeout`, set as a
   * connection parameter at start-up: no extra round trip); none by default.
   */
  statementTimeoutMs: number;
  /**
   * PEM of the CA that signed the server's certificate (Cloud SQL's per-instance CA): the connection is
   * encrypted and the certificate verified against it (verify-ca). The host name is not compared: Cloud
   * SQL's certificate names project:instance, not the private IP the functions dial.
   */
  caCert: string | undefined;
  /** One system call per turn of the event loop for what the pool writes (see poolSockets). */
  coalesceWrites: boolean;
}

/**
 * The sockets of a pool (the library's documented `socket` option, README "Custom socket"), with
 * Nagle's algorithm off: postgres.js sends some messages in more than one write (COPY data, then
 * CopyDone), and the last small write then waited for the server's delayed ACK (measured on
 * loopback: a COPY took 50–85 ms and `select 1` 4.4 ms with it, 0.7–4 ms and 0.23 ms without).
 * postgres.js still does the rest (TLS, start-up, the connect timeout); hosts are taken in turn as
 * it would. (How the pool survives a socket that fails: patches/postgres+3.4.9.patch.)
 *
 * With `coalesceWrites`, what the pool writes in one turn of the event loop leaves in one system
 * call: postgres.js writes each statement of 1 KiB or more at once (a node batch's pipelined
 * statements were about fifteen `write` calls, each a loopback send that also wakes the server),
 * so the socket is corked at its first write and uncorked on the next tick (one `writev` for what
 * was written synchronously till then; a write from a later promise callback starts a new cork).
 * Nothing waits longer than that tick. Not for TLS: there postgres.js
 * writes to the TLS socket wrapped around this one.
 */
export function poolSockets(options: { coalesceWrites?: boolean } = {}) {
  let next = 0;
  return (o: { host: string[]; port: number[]; path?: string | false }): net.Socket => {
    const socket = new net.Socket();
    socket.setNoDelay(true);
    if (o.path) socket.connect(o.path);
    else {
      const i = next++ % o.host.length;
      socket.connect(o.port[i] ?? 5432, o.host[i]!);
    }
    // After connect(): it puts Socket.prototype.write back on the socket.
    if (options.coalesceWrites) coalesceWrites(socket);
    return socket;
  };
}

/** Corks `socket` at a write and uncorks it on the next tick. */
function coalesceWrites(socket: net.Socket): void {
  const write = socket.write;
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  socket.write = function (this: net.Socket, ...args: unknown[]) {
    if (!corked) {
      corked = true;
      this.cork();
      process.nextTick(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as net.Socket['write'];
}

export function connect(url: string, options: Partial<PoolOptions> = {}): Sql {
  return postgres(url, {
    max: options.max ?? 4,
    idle_timeout: options.idleTimeoutSeconds ?? 20,
    max_lifetime: options.maxLifetimeSeconds ?? 1800,
    connect_timeout: (options.connectTimeoutMs ?? 10_000) / 1000,
    ...(options.statementTimeoutMs ? { connection: { statement_timeout: options.statementTimeoutMs } } : {}),
    ...(options.caCert
      ? { ssl: { ca: options.caCert, rejectUnauthorized: true, checkServerIdentity: () => undefined } }
      : {}),
    onnotice: () => {},
    // Not in the library's type definitions, though documented (README: "Custom socket").
    ...({ socket: poolSockets({ coalesceWrites: options.coalesceWrites ?? false }) } as object),
  });
}

/** One round trip to the server: the health probe of /status. */
export async function ping(sql: Sql): Promise<void> {
  await sql`select 1`;
}

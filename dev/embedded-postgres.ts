/**
 * Embedded PostgreSQL for the local mode: PGlite (Postgres compiled to WebAssembly) served over the
 * wire protocol on a loopback port, so the same postgres.js code talks to it as to Cloud SQL. Data
 * lives in a folder, so a restart keeps it.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { copyStatement } from '../shared/adapters/postgres/copy.ts';
import type { BackfillStore } from '../shared/cycle/backfill/store.ts';

export interface EmbeddedPostgres {
  url: string;
  /**
   * The bulk backfill's store with COPY that works here: COPY … FROM STDIN hangs over pglite-socket, so
   * the partials go to PGlite in process (COPY from a blob). PGlite is one session, so the COPY lands
   * inside the transaction the store opened over the wire (advisory locks, watermarks, all or nothing).
   */
  bulkStore(store: BackfillStore): BackfillStore;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  port?: number;
  maxConnections?: number;
}): Promise<EmbeddedPostgres> {
  mkdirSync(options.dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir: options.dataDir });
  const server = new PGLiteSocketServer({
    db,
    host: '127.0.0.1',
    port: options.port ?? 0,
    // At least the sum of every pool in the process, or clients hang waiting (see TESTING.md);
    // the local mode uses one connection (see scripts/start.ts).
    maxConnections: options.maxConnections ?? 4,
  });
  await server.start();
  const [host, port] = server.getServerConn().split(':');
  return {
    url: `postgres://postgres:postgres@${host}:${port}/postgres`,
    bulkStore: (store) => ({
      ...store,
      inNodesTransaction: (nodeIds, work) =>
        store.inNodesTransaction(nodeIds, (tx) =>
          work({
            ...tx,
            async copyPartials(target, chunks, format) {
              const blob = new Blob([...chunks] as BlobPart[]);
              await db.query(copyStatement(target.name, '/dev/blob', format), [], { blob });
            },
          }),
        ),
    }),
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * Where the schema stands, without changing it: what a function checks at start when migrations run
 * as a separate step (the cloud's migrate job) instead of at its cold start.
 */
import type { Sql } from './client.ts';
import { MIGRATIONS } from './migrations.ts';

export class SchemaBehindError extends Error {
  readonly current: number;
  readonly expected: number;

  constructor(current: number, expected: number) {
    super(
      `The database schema is at version ${current}, this code needs ${expected}: run the migrations first ` +
        '(`npm run migrate`, or in the cloud the migrate job that `npm run deploy` runs before traffic moves).',
    );
    this.name = 'SchemaBehindError';
    this.current = current;
    this.expected = expected;
  }
}

export interface SchemaState {
  /** Highest migration version applied (0 on an empty database). */
  version: number;
  /** The version this code's migrations end at. */
  expected: number;
  /** TimescaleDB installed in this database (the migrations made hypertables). */
  timescale: boolean;
}

export async function schemaState(sql: Sql): Promise<SchemaState> {
  const [probe] = await sql<{ migrated: boolean; timescale: boolean }[]>`
    select to_regclass('schema_migrations') is not null as migrated,
           exists (select 1 from pg_extension where extname = 'timescaledb') as timescale`;
  const [row] = probe?.migrated
    ? await sql<
        { version: number }[]
      >`select coalesce(max(version), 0)::int4 as version from schema_migrations`
    : [{ version: 0 }];
  const expected = Math.max(0, ...MIGRATIONS.map((m) => m.version));
  return { version: row?.version ?? 0, expected, timescale: probe?.timescale ?? false };
}

/** The schema state, or a SchemaBehindError when migrations this code needs have not run. */
export async function requireMigrated(sql: Sql): Promise<SchemaState> {
  const state = await schemaState(sql);
  if (state.version < state.expected) throw new SchemaBehindError(state.version, state.expected);
  return state;
}

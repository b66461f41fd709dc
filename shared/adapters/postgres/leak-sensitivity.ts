/**
 * The one owner of leak_sensitivity (migration 10): per tenant, every candidate leak node of its hydraulic
 * model with its coordinates, the pipes it sits on and the change of head a test leak there makes at each
 * pressure point (`npm run network:import` writes it; the rollup's leak localisation reads it).
 */
import type { LeakCandidateNode } from '../../anomaly/localise.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

interface Row {
  node: string;
  x: number | null;
  y: number | null;
  pipes: string[];
  sensors: string[];
  dhead_m: number[];
  leak_lps: number;
}

/** A JSON array's elements as a text array, in order. */
const elements = (col: string) =>
  `array(select v from jsonb_array_elements_text(${col}::jsonb) with ordinality as e(v, i) order by i)`;

/** Replaces the tenant's candidates with these, in one transaction (an import is all or nothing). */
export async function replaceLeakSensitivity(
  sql: Sql,
  tenantId: string,
  nodes: readonly LeakCandidateNode[],
): Promise<number> {
  return sql.begin(async (tx) => {
    await tx`delete from leak_sensitivity where tenant_id = ${tenantId}`;
    if (nodes.length === 0) return 0;
    // Arrays of arrays do not unnest row by row: each row's arrays travel as JSON text.
    const rows = await tx.unsafe<{ node: string }[]>(
      `insert into leak_sensitivity (tenant_id, node, x, y, pipes, sensors, dhead_m, leak_lps)
       select $1, n, x, y, ${elements('p')}, ${elements('s')}, ${elements('d')}::float8[], l
       from unnest($2::text[], $3::float8[], $4::float8[], $5::text[], $6::text[], $7::text[], $8::float8[])
         as t(n, x, y, p, s, d, l)
       returning node`,
      [
        tenantId,
        nodes.map((n) => n.node),
        nodes.map((n) => n.x),
        nodes.map((n) => n.y),
        nodes.map((n) => JSON.stringify(n.pipes)),
        nodes.map((n) => JSON.stringify(n.sensors)),
        nodes.map((n) => JSON.stringify(n.dheadM)),
        nodes.map((n) => n.leakLps),
      ] as never[],
    );
    return rows.length;
  });
}

/** The tenant's candidates, in node order (empty when no model was imported). */
export async function readLeakSensitivity(db: Db, tenantId: string): Promise<LeakCandidateNode[]> {
  const rows = await db<Row[]>`
    select node, x, y, pipes, sensors, dhead_m, leak_lps from leak_sensitivity
    where tenant_id = ${tenantId} order by node`;
  return rows.map((r) => ({
    node: r.node,
    x: r.x,
    y: r.y,
    pipes: r.pipes,
    sensors: r.sensors,
    dheadM: r.dhead_m.map(Number),
    leakLps: r.leak_lps,
  }));
}

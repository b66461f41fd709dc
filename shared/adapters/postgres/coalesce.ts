/**
 * The same statement of several nodes, issued in one turn, sent as ONE statement (DataLoader-style):
 * a multi-node message's K nodes each issue their reads as if alone, and PostgreSQL runs one statement
 * per kind instead of K (each statement has a fixed cost in the server — Bind, portal, executor start
 * and end, its snapshot and the locks of its relations — that is most of what a node's read costs).
 *
 * A per-node read becomes a K-node read without being written twice (`lateralText`): its text runs
 * as a LATERAL subquery over one row per node, that row's columns in place of its parameters
 * (`$3` → `p.a3`), and each result row tagged with its node's position. Each node then gets exactly
 * the rows its own statement would have given, in the same order.
 */

import { numberArray, textArray } from './array-literal.ts';
import type { Sql, TransactionSql } from './client.ts';

type Db = Sql | TransactionSql;

/** A per-node read: its text (parameters `$1`…), its parameters, and each parameter's SQL type. */
export interface NodeQuery {
  text: string;
  params: readonly unknown[];
  /** Each parameter's type (e.g. `text`, `numeric`, `float8`, `int2[]`): the lateral form casts to it. */
  types: readonly string[];
  /** The order of the statement's rows, when it has one (repeated outside in the K-node form). */
  orderBy?: string;
}

const lateralTexts = new Map<string, string>();

/**
 * The K-node form of a per-node statement: one text[] parameter per parameter of the original (the
 * K nodes' values, each as text), the original as a LATERAL subquery over their rows, `_i` the node's
 * position (0-based) first in every row. Cached per text (a handful per process).
 */
export function lateralText(q: Pick<NodeQuery, 'text' | 'types' | 'orderBy'>): string {
  let text = lateralTexts.get(q.text);
  if (text !== undefined) return text;
  const inner = q.text.replace(/\$(\d+)/g, (_, n: string) => {
    const type = q.types[Number(n) - 1];
    if (type === undefined) throw new Error(`parameter $${n} has no type`);
    return `(p.a${n}::${type})`;
  });
  const columns = q.types.map((_, k) => `a${k + 1}`).join(', ');
  const arrays = q.types.map((_, k) => `$${k + 1}::text[]`).join(', ');
  // `offset 0`: the subquery stays one (not pulled up into the join), so it runs per node as the
  // node's own statement runs (its index scans), never as one scan of a whole table joined to the nodes.
  text = `select (p.i - 1)::int4 as _i, q.* from unnest(${arrays}) with ordinality as p(${columns}, i)
  cross join lateral (${inner}\n  offset 0) q${q.orderBy ? `\n  order by _i, ${q.orderBy}` : ''}`;
  if (lateralTexts.size >= 64) lateralTexts.clear();
  lateralTexts.set(q.text, text);
  return text;
}

/** A parameter's value as the text its SQL type parses (arrays as array literals). */
export function paramText(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) {
    return v.some((x) => typeof x === 'string') ? textArray(v as string[]) : numberArray(v as number[]);
  }
  if (v instanceof Date) return v.toISOString();
  return String(v);
}

/**
 * Runs per-node reads, one statement per distinct text: alone as it is, several in the lateral form.
 * Resolves with each query's rows, in the order given.
 */
export async function readMany<Row>(db: Db, queries: readonly NodeQuery[]): Promise<Row[][]> {
  const out: Row[][] = queries.map(() => []);
  const groups = new Map<string, number[]>();
  queries.forEach((q, i) => {
    const g = groups.get(q.text);
    if (g) g.push(i);
    else groups.set(q.text, [i]);
  });
  await Promise.all(
    [...groups.values()].map(async (members) => {
      const first = queries[members[0]!]!;
      if (members.length === 1) {
        out[members[0]!] = await db.unsafe<Row[]>(first.text, first.params as never[], { prepare: true });
        return;
      }
      const columns = first.types.map((_, k) => members.map((i) => paramText(queries[i]!.params[k])));
      const rows = await db.unsafe<(Row & { _i: number })[]>(lateralText(first), columns as never[], {
        prepare: true,
      });
      // Each row keeps its `_i` (deleting a property would slow every later access to the row).
      for (const row of rows) out[members[row._i]!]!.push(row);
    }),
  );
  return out;
}

/**
 * Collects the calls made in one turn (the current job and the promise callbacks it queues) and runs
 * them together once it is over (`runMany`, which resolves with one result per item, in order). With
 * `one`, a failure of the joint run runs each item alone (outside a transaction: one bad item fails
 * alone); without, every item of it fails with the error (inside a transaction, which the failure
 * aborted anyway).
 */
export function coalescer<I, R>(
  runMany: (items: I[]) => Promise<R[]>,
  one?: (item: I) => Promise<R>,
): (item: I) => Promise<R> {
  let pending: { item: I; resolve: (r: R) => void; reject: (e: unknown) => void }[] | null = null;
  const flush = async () => {
    const calls = pending!;
    pending = null;
    try {
      const results = await runMany(calls.map((c) => c.item));
      calls.forEach((c, i) => {
        c.resolve(results[i]!);
      });
    } catch (err) {
      if (!one || calls.length === 1) {
        for (const c of calls) c.reject(err);
        return;
      }
      for (const c of calls) one(c.item).then(c.resolve, c.reject);
    }
  };
  return (item) =>
    new Promise<R>((resolve, reject) => {
      if (!pending) {
        pending = [];
        // After the promise callbacks queued so far (DataLoader's schedule): the turn's calls are in.
        Promise.resolve().then(() => process.nextTick(flush));
      }
      pending.push({ item, resolve, reject });
    });
}

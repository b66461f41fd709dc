/**
 * A node batch's writes as ONE statement: each owner module gives its upserts as data-modifying CTEs
 * (`WritePart`: their texts from the number of their first parameter on, and those parameters), and
 * they run as `with w0_… as (…), w1_… as (…) select 1`. Different tables, one snapshot, inside the
 * batch's transaction and under the node's lock: the same rows as the separate statements wrote, in
 * one Bind/Execute instead of five or six (each statement has a fixed cost in the server — its
 * portal, executor start-up and end, the locks of its relations — that a batch paid again and again).
 *
 * The statement is prepared: its text depends only on which parts it holds and their shapes (a few per
 * batch kind), so each connection plans a handful.
 */
import type { Sql, TransactionSql } from './client.ts';
import { coalescer } from './coalesce.ts';

type Db = Sql | TransactionSql;

/**
 * Part of a combined write: its CTEs' bodies (no names), numbered from `first`, and their parameters.
 * A part of several nodes' writes (`merge`): parts of the same `kind` are one part for their rows
 * together (`merge(rows of each)`), so K nodes' writes of a kind cost one CTE, not K.
 */
export interface WritePart {
  ctes: (first: number) => string[];
  params: unknown[];
  merge?: { kind: string; rows: readonly unknown[]; of: (rows: unknown[]) => WritePart };
}

/**
 * Several nodes' parts as one part per kind (a kind given once stays as it is), the kinds in a stable
 * order (the statement's text then depends only on which kinds it holds). Parts without a kind follow.
 */
export function mergeParts(parts: readonly WritePart[]): WritePart[] {
  const kinds = new Map<string, WritePart[]>();
  const rest: WritePart[] = [];
  for (const part of parts) {
    if (!part.merge) {
      rest.push(part);
      continue;
    }
    const group = kinds.get(part.merge.kind);
    if (group) group.push(part);
    else kinds.set(part.merge.kind, [part]);
  }
  const merged = [...kinds.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, group]) =>
      group.length === 1 ? group[0]! : group[0]!.merge!.of(group.flatMap((p) => p.merge!.rows)),
    );
  return [...merged, ...rest];
}

/** The combined statement's text and parameters (exported for tests). */
export function combinedWrite(parts: readonly WritePart[]): { text: string; params: unknown[] } {
  const ctes: string[] = [];
  const params: unknown[] = [];
  parts.forEach((part, i) => {
    part.ctes(params.length + 1).forEach((body, j) => {
      ctes.push(`w${i}_${j} as (${body})`);
    });
    params.push(...part.params);
  });
  return { text: `with ${ctes.join(',\n')}\nselect 1`, params };
}

/** Runs the parts as one statement (none: nothing sent). */
export async function writeParts(db: Db, parts: readonly WritePart[]): Promise<void> {
  if (parts.length === 0) return;
  const { text, params } = combinedWrite(parts);
  await db.unsafe(text, params as never[], { prepare: true });
}

/**
 * The collector of a multi-node transaction: the parts its nodes write in one turn (coalesce.ts's
 * `coalescer`, DataLoader's schedule) go as ONE statement, each kind merged (`mergeParts`). Each `write`
 * resolves when that statement has run; a failure fails every part of it.
 */
export function nodesWriteCollector(db: Db): (part: WritePart) => Promise<void> {
  return coalescer(async (parts: WritePart[]) => {
    await writeParts(db, mergeParts(parts));
    return parts.map(() => undefined);
  });
}

/**
 * Collects the parts written in one turn (synchronously, one after the other) and sends them as one
 * statement at the end of it (a microtask): each `write` resolves when that statement has run. A part
 * given after the statement was sent starts the next one.
 */
export function writeCollector(db: Db): (part: WritePart) => Promise<void> {
  let pending: WritePart[] | null = null;
  let sent: Promise<void> = Promise.resolve();
  return (part) => {
    if (!pending) {
      const parts: WritePart[] = [];
      pending = parts;
      sent = Promise.resolve().then(() => {
        pending = null;
        return writeParts(db, parts);
      });
    }
    pending.push(part);
    return sent;
  };
}

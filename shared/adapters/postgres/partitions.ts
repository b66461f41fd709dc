/**
 * Native range partitions for the time-series tables (plain PostgreSQL and PGlite). Partitions are
 * created on demand before a write touches their range, and dropped whole by retention. With
 * Timescale the tables are hypertables and none of this runs.
 */

import type { Sql } from './client.ts';
import { TIME_SERIES_TABLES } from './migrations.ts';

export type TimeSeriesTable = keyof typeof TIME_SERIES_TABLES;

const DAY_MS = 86_400_000;

export interface PartitionBounds {
  name: string;
  from: Date;
  to: Date;
}

/**
 * The partition `ms` falls in (its name and range). Remembered per table and UTC day (a partition is
 * a day or a month): a node batch asks for the same few days some ten times, and building the dates
 * and their texts each time was ~1 % of the aggregator's CPU. The result is shared: do not modify it.
 */
export function partitionBounds(table: TimeSeriesTable, ms: number): PartitionBounds {
  return partitionOf(table, ms).bounds;
}

/** A partition's bounds and its `fromPartitionOf` text, built once per table and UTC day. */
function partitionOf(table: TimeSeriesTable, ms: number): { bounds: PartitionBounds; fromText: string } {
  let byDay = partitionsByDay.get(table);
  if (!byDay) {
    byDay = new Map();
    partitionsByDay.set(table, byDay);
  }
  const day = Math.floor(ms / DAY_MS);
  let known = byDay.get(day);
  if (known === undefined) {
    const bounds = boundsOf(table, ms);
    known = { bounds, fromText: `bucket >= '${bounds.from.toISOString()}'` };
    if (byDay.size >= 4096) byDay.clear();
    byDay.set(day, known);
  }
  return known;
}
const partitionsByDay = new Map<
  TimeSeriesTable,
  Map<number, { bounds: PartitionBounds; fromText: string }>
>();

function boundsOf(table: TimeSeriesTable, ms: number): PartitionBounds {
  const d = new Date(ms);
  if (TIME_SERIES_TABLES[table].partition === 'day') {
    const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
    const to = new Date(from.getTime() + DAY_MS);
    return { name: `${table}_p${from.toISOString().slice(0, 10).replaceAll('-', '')}`, from, to };
  }
  const from = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));
  const to = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1));
  return { name: `${table}_p${from.toISOString().slice(0, 7).replace('-', '')}`, from, to };
}

/**
 * `bucket >= '<start of the partition ms falls in>'` for a statement that reads from `ms` on (its own
 * parameter bound stays): the literal lets the planner drop the partitions before it even for a
 * generic plan, which otherwise holds, locks and is costed over every partition retention keeps.
 * One text per partition start: statements built with it are few (a new one per day or month).
 */
export const fromPartitionOf = (table: TimeSeriesTable, ms: number): string =>
  partitionOf(table, ms).fromText;

/** Statement texts by the partition starts they are built for, each built once (bounded: cleared past 64). */
export function textsByPartitions(build: (starts: string[]) => string): (starts: string[]) => string {
  const texts = new Map<string, string>();
  return (starts) => {
    const key = starts.join();
    let text = texts.get(key);
    if (text === undefined) {
      if (texts.size >= 64) texts.clear();
      text = build(starts);
      texts.set(key, text);
    }
    return text;
  };
}

/** Creates the partitions a set of bucket times falls into. Remembers what exists per process. */
export class PartitionManager {
  private readonly known = new Set<string>();
  private readonly sql: Sql;
  /** With Timescale the tables are hypertables: no native partitions to create or write into. */
  readonly timescale: boolean;

  constructor(sql: Sql, timescale: boolean) {
    this.sql = sql;
    this.timescale = timescale;
  }

  async ensure(table: TimeSeriesTable, bucketTimesMs: Iterable<number>): Promise<void> {
    if (this.timescale) return;
    const wanted = new Map<string, PartitionBounds>();
    for (const ms of bucketTimesMs) {
      const p = partitionBounds(table, ms);
      if (!this.known.has(p.name)) wanted.set(p.name, p);
    }
    for (const p of wanted.values()) {
      try {
        await this.sql.unsafe(
          `create table if not exists ${p.name} partition of ${table}
             for values from ('${p.from.toISOString()}') to ('${p.to.toISOString()}')`,
        );
      } catch (err) {
        // Another instance created it between our check and our create: that is fine.
        if ((err as { code?: string }).code !== '42P07') throw err;
      }
      this.known.add(p.name);
    }
  }

  /** Drops whole partitions whose range ends before `beforeMs`. Returns the dropped names. */
  async dropOlderThan(table: TimeSeriesTable, beforeMs: number): Promise<string[]> {
    if (this.timescale) return [];
    const rows = await this.sql<{ name: string; bound: string }[]>`
      select c.relname as name, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_inherits i
      join pg_class c on c.oid = i.inhrelid
      join pg_class p on p.oid = i.inhparent
      where p.relname = ${table}`;
    const dropped: string[] = [];
    for (const row of rows) {
      const upper = /TO \('([^']+)'\)/.exec(row.bound)?.[1];
      if (!upper || Date.parse(upper) > beforeMs) continue;
      await this.sql.unsafe(`drop table if exists ${row.name}`);
      this.known.delete(row.name);
      dropped.push(row.name);
    }
    return dropped;
  }
}

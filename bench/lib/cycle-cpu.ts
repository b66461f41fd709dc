/**
 * bench:cycle's accounting: the CPU of this run's processes, told apart from other work on the machine,
 * its peak memory, and the statements that took PostgreSQL's time (pg_stat_statements).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type postgres from 'postgres';

export const PG_BACKGROUND = 'postgresql cluster, shared (WAL, checkpoints, autovacuum, ended sessions)';

/**
 * CPU seconds used so far by the processes of this run, grouped by what they are. Other engineers' work
 * on the same machine (their PostgreSQL sessions, emulators, functions) is told apart: the aggregator is
 * our child's pid, the emulators are those listening on our ports, PostgreSQL is the backends connected
 * to this run's database (their process titles name it). What cannot be told apart is summed as shared:
 * the PostgreSQL cluster's own processes (WAL writer, checkpointer, autovacuum, and the reaped children
 * of everyone's sessions), and redis-server.
 */
export function cpuByProcess(ours: {
  aggregatorPid?: number;
  db: string;
  ports: string[];
}): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 100; // USER_HZ
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      // PostgreSQL's short-lived workers (autovacuum) are gone by the second look: the postmaster's
      // reaped children's time (cutime, cstime) keeps them counted.
      const postmaster = /^\/\S*postgres\s/.test(cmd);
      const seconds =
        (Number(fields[11]) +
          Number(fields[12]) +
          (postmaster ? Number(fields[13]) + Number(fields[14]) : 0)) /
        tick;
      const port = /--port=(\d+)/.exec(cmd)?.[1];
      const ourPort = port !== undefined && ours.ports.includes(port);
      const name =
        Number(pid) === ours.aggregatorPid
          ? 'aggregator'
          : Number(pid) === process.pid
            ? 'bench (dispatcher, push relay, upstash server)'
            : ourPort && /pubsub/i.test(cmd) && /^java/.test(cmd)
              ? 'pubsub emulator'
              : ourPort && /firestore/i.test(cmd) && /^java/.test(cmd)
                ? 'firestore emulator'
                : /^postgres: /.test(cmd) && cmd.includes(` ${ours.db} `)
                  ? 'postgresql'
                  : postmaster ||
                      /^postgres: .*(autovacuum|walwriter|checkpointer|background writer|logical replication)/.test(
                        cmd,
                      )
                    ? PG_BACKGROUND
                    : /redis-server/.test(cmd)
                      ? 'redis (shared)'
                      : 'other';
      out.set(name, (out.get(name) ?? 0) + seconds);
    } catch {
      // The process ended meanwhile.
    }
  }
  return out;
}

export function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

/** The statements that took most of PostgreSQL's time in `db` since the last reset, per node. */
export async function heaviestStatements(sql: postgres.Sql, db: string, nodes: number): Promise<string> {
  const rows = await sql<{ ms: number; plan: number; plans: number; calls: number; query: string }[]>`
    select total_exec_time + total_plan_time as ms, total_plan_time as plan, plans::int4, calls::int4, query
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname = ${db} order by 1 desc limit 15`;
  const total = rows.reduce((a, r) => a + r.ms, 0);
  const [all] = await sql<{ ms: number; calls: number; kinds: number }[]>`
    select coalesce(sum(total_exec_time + total_plan_time), 0)::float8 as ms,
      coalesce(sum(calls), 0)::float8 as calls, count(*)::int4 as kinds
    from pg_stat_statements s join pg_database d on d.oid = s.dbid where d.datname = ${db}`;
  return [
    `  all statements: ${((all?.ms ?? 0) / nodes).toFixed(3)} ms and ${((all?.calls ?? 0) / nodes).toFixed(1)} calls per node (${all?.kinds ?? 0} distinct)`,
    `  heaviest statements (ms per node: execution + planning, of it planning; calls and plans per node; share of the top 15's ${total.toFixed(0)} ms):`,
    ...rows.map(
      (r) =>
        `  ${(r.ms / nodes).toFixed(3).padStart(7)} ${(r.plan / nodes).toFixed(3).padStart(6)} ${(r.calls / nodes).toFixed(2).padStart(6)} ${(r.plans / nodes).toFixed(2).padStart(5)} ${((100 * r.ms) / total).toFixed(0).padStart(3)} %  ${r.query.replace(/\s+/g, ' ').slice(0, 110)}`,
    ),
  ].join('\n');
}

/** BENCH_PORT, or a port the OS says is free now. */
export async function aggregatorPort(): Promise<number> {
  if (process.env.BENCH_PORT) return Number(process.env.BENCH_PORT);
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The monotonic clock V8's profiler also uses (Linux), in microseconds. */
export const monotonicUs = () => Number(process.hrtime.bigint() / 1000n);

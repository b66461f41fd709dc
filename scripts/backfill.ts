/**
 * `npm run backfill -- …`: the bulk backfill in N parallel shards of nodes, each idempotent and
 * resumable on its own (the node watermarks), as the Cloud Run job terraform/backfill.tf defines.
 *
 *   npm run backfill -- --from 2025-06-01 --to 2026-06-01 --tasks 4
 *       here: N processes of the job's entry (jobs/ops: `backfill`), task i with CLOUD_RUN_TASK_INDEX=i
 *       and CLOUD_RUN_TASK_COUNT=N, against DATABASE_URL and the configured source
 *   npm run backfill -- --from … --to … --tasks 20 --cloud --project P [--region R] [--job NAME]
 *       in the cloud: `gcloud run jobs execute NAME --tasks 20 --args=backfill,--from=…,--to=… --wait`
 *       (NAME defaults to wnm-backfill; R to europe-west1; the job's parallelism is in Terraform)
 *
 * A failed task or process leaves its committed chunks applied: run the same command again and each
 * shard resumes from its nodes' watermarks (nodes already at --to are skipped). One ordinary cycle
 * ending at --to then refreshes the served views (`npm run cycle -- --once --at …`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface TaskOutcome {
  index: number;
  code: number;
  readings: number;
  applied: number;
  alreadyApplied: number;
}

export interface BackfillCliIo {
  env?: NodeJS.ProcessEnv;
  out?: (line: string) => void;
}

const JOB_ENTRY = fileURLToPath(new URL('../jobs/ops/index.ts', import.meta.url));

/** Runs `tasks` local processes of the job's backfill command; resolves with each one's outcome. */
export async function runLocalTasks(
  range: { from: string; to: string },
  tasks: number,
  io: BackfillCliIo = {},
): Promise<TaskOutcome[]> {
  const env = io.env ?? process.env;
  return Promise.all(
    Array.from(
      { length: tasks },
      (_, index) =>
        new Promise<TaskOutcome>((resolve) => {
          const outcome: TaskOutcome = { index, code: 1, readings: 0, applied: 0, alreadyApplied: 0 };
          const child = spawn(
            process.execPath,
            [JOB_ENTRY, 'backfill', `--from=${range.from}`, `--to=${range.to}`],
            {
              env: {
                ...env,
                LOG_LEVEL: env.LOG_LEVEL ?? 'info',
                CLOUD_RUN_TASK_INDEX: String(index),
                CLOUD_RUN_TASK_COUNT: String(tasks),
              },
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let buffered = '';
          child.stdout.setEncoding('utf8').on('data', (text: string) => {
            buffered += text;
            const lines = buffered.split('\n');
            buffered = lines.pop() ?? '';
            for (const line of lines) {
              try {
                const entry = JSON.parse(line) as Record<string, unknown>;
                if (entry.event === 'ops.backfilled') {
                  outcome.readings = Number(entry.readings);
                  outcome.applied = Number(entry.applied);
                  outcome.alreadyApplied = Number(entry.alreadyApplied);
                } else if (entry.level === 'error' || entry.severity === 'ERROR') {
                  io.out?.(`task ${index}: ${String(entry.message)} ${JSON.stringify(entry.err ?? '')}`);
                }
              } catch {
                // Not a log line.
              }
            }
          });
          child.on('exit', (code) => resolve({ ...outcome, code: code ?? 1 }));
        }),
    ),
  );
}

/** The gcloud command that runs the job's `tasks` shards in the cloud. */
export function cloudCommand(
  range: { from: string; to: string },
  tasks: number,
  where: { project: string; region: string; job: string },
): string[] {
  return [
    'run',
    'jobs',
    'execute',
    where.job,
    '--project',
    where.project,
    '--region',
    where.region,
    '--tasks',
    String(tasks),
    `--args=backfill,--from=${range.from},--to=${range.to}`,
    '--wait',
    '--format=value(metadata.name)',
  ];
}

export async function backfillCli(argv: string[], io: BackfillCliIo = {}): Promise<number> {
  const out = io.out ?? ((line: string) => console.log(line));
  const env = io.env ?? process.env;
  const { values } = parseArgs({
    args: argv,
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      tasks: { type: 'string', default: '1' },
      cloud: { type: 'boolean', default: false },
      project: { type: 'string' },
      region: { type: 'string', default: 'europe-west1' },
      job: { type: 'string', default: 'wnm-backfill' },
    },
  });
  const fromMs = Date.parse(values.from ?? '');
  const toMs = Date.parse(values.to ?? '');
  const tasks = Number(values.tasks);
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || !(toMs > fromMs)) {
    out('--from and --to must be ISO dates or times, --to after --from');
    return 2;
  }
  if (!Number.isInteger(tasks) || tasks < 1 || tasks > 10_000) {
    out('--tasks must be an integer from 1 to 10,000 (Cloud Run jobs take at most 10,000 tasks)');
    return 2;
  }
  const range = { from: new Date(fromMs).toISOString(), to: new Date(toMs).toISOString() };
  if (values.cloud) {
    const project = values.project ?? env.GOOGLE_CLOUD_PROJECT;
    if (!project) {
      out('--cloud needs --project (or GOOGLE_CLOUD_PROJECT)');
      return 2;
    }
    const args = cloudCommand(range, tasks, { project, region: values.region, job: values.job });
    out(`gcloud ${args.join(' ')}`);
    const r = spawnSync('gcloud', args, { env, encoding: 'utf8' });
    if (r.status !== 0) {
      out(`the job execution failed (${r.status ?? r.error?.message}): ${r.stderr ?? ''}`.trim());
      out('rerun the same command: each task resumes its shard from the node watermarks');
      return 1;
    }
    out(`execution ${r.stdout.trim()} finished: ${tasks} task(s), one shard of nodes each`);
    return 0;
  }
  const started = performance.now();
  const outcomes = await runLocalTasks(range, tasks, { env, out });
  const seconds = (performance.now() - started) / 1000;
  const readings = outcomes.reduce((a, o) => a + o.readings, 0);
  for (const o of outcomes) {
    out(
      `task ${o.index}/${tasks}: ${o.code === 0 ? 'done' : `FAILED (exit ${o.code})`}, ${o.applied} nodes applied, ${o.alreadyApplied} already, ${o.readings.toLocaleString('en')} readings`,
    );
  }
  out(
    `${readings.toLocaleString('en')} readings in ${seconds.toFixed(1)} s = ${Math.round(readings / seconds).toLocaleString('en')} readings/s with ${tasks} process(es)`,
  );
  if (outcomes.some((o) => o.code !== 0)) {
    out('some tasks failed: rerun the same command; each shard resumes from its node watermarks');
    return 1;
  }
  return 0;
}

if (import.meta.main) process.exitCode = await backfillCli(process.argv.slice(2));

/**
 * `npm run schedule -- run|pause|resume --project P --region R [--job wnm-cycle]`: operators trigger a
 * processing cycle now, or pause and resume the schedule, through the Cloud Scheduler API
 * (@google-cloud/scheduler, REST transport). `npm run cycle-now -- --project P --region R` is `run`.
 *
 * The caller needs roles/cloudscheduler.jobRunner to run a job and roles/cloudscheduler.admin (or the
 * `<prefix>-scheduler-operator` custom role Terraform creates and grants to `scheduler_operators`) to
 * pause and resume. Application Default Credentials are used (`gcloud auth application-default login`).
 */
import { parseArgs } from 'node:util';
import { CloudSchedulerClient } from '@google-cloud/scheduler';

export const SCHEDULE_COMMANDS = ['run', 'pause', 'resume'] as const;
export type ScheduleCommand = (typeof SCHEDULE_COMMANDS)[number];

const USAGE = `usage: npm run schedule -- ${SCHEDULE_COMMANDS.join('|')} --project PROJECT --region REGION [--job wnm-cycle]`;

type ClientOptions = ConstructorParameters<typeof CloudSchedulerClient>[0];

export async function schedule(
  argv: string[],
  options: { client?: ClientOptions; out?: (line: string) => void } = {},
): Promise<number> {
  const out = options.out ?? ((l: string) => console.log(l));
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      project: { type: 'string' },
      region: { type: 'string' },
      job: { type: 'string', default: 'wnm-cycle' },
    },
  });
  const command = positionals[0] as ScheduleCommand | undefined;
  if (!command || !SCHEDULE_COMMANDS.includes(command) || !values.project || !values.region) {
    out(USAGE);
    return 2;
  }
  const client = new CloudSchedulerClient({ fallback: true, ...options.client });
  try {
    const name = client.jobPath(values.project, values.region, values.job);
    const request = { name };
    const [job] =
      command === 'run'
        ? await client.runJob(request)
        : command === 'pause'
          ? await client.pauseJob(request)
          : await client.resumeJob(request);
    out(
      command === 'run'
        ? `${values.job}: a cycle was started now (the schedule is unchanged: ${job.schedule ?? '?'}, ${job.state ?? '?'})`
        : `${values.job}: ${job.state ?? command}`,
    );
    return 0;
  } finally {
    await client.close();
  }
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const cycleNow = process.env.npm_lifecycle_event === 'cycle-now';
  schedule(cycleNow ? ['run', ...argv] : argv).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      console.error((err as Error).message ?? err);
      process.exitCode = 1;
    },
  );
}

/**
 * `npm run network:import`: a tenant's EPANET model into leak localisation, in the database of DATABASE_URL.
 *
 *   npm run network:import -- --inp FILE --tenant T [--id-pattern 'P-{node}'] [--hours 51,56,61,67]
 *                             [--leak-diameter 0.01] [--pressure-driven 0,25]
 *
 * Maps the tenant's registered pressure points to the model's nodes (`--id-pattern`: `{node}` is the
 * model's node id; default the same ids), simulates a small leak at every junction at a few representative
 * hours (from the patterns' start; default a Wednesday's 03:00, 08:00, 13:00, 19:00) and stores each
 * junction's coordinates, pipes and change of head at every mapped point, replacing the tenant's previous
 * import. From the next rollup on, every leak anomaly of a district with three or more pressure points gets
 * its ranked candidate locations (`GET /api/v1/anomalies/{id}`, `locations`). Rerun it when the model changes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connect } from '../shared/adapters/postgres/client.ts';
import { migrate } from '../shared/adapters/postgres/migrations.ts';
import { ConfigError, loadConfig, requireDatabaseUrl } from '../shared/config.ts';
import { importNetwork } from './network-import/import.ts';

const USAGE =
  'usage: npm run network:import -- --inp FILE --tenant T [--id-pattern P-{node}] [--hours 51,56,61,67] [--leak-diameter 0.01] [--pressure-driven MIN,REQ]';

const cpuSeconds = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      inp: { type: 'string' },
      tenant: { type: 'string' },
      'id-pattern': { type: 'string', default: '{node}' },
      hours: { type: 'string' },
      'leak-diameter': { type: 'string' },
      'pressure-driven': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || !values.inp) {
    console.log(USAGE);
    if (!values.help) process.exitCode = 1;
    return;
  }
  const config = loadConfig();
  const tenantId = values.tenant ?? config.TENANT_ID;
  const numbers = (v: string) =>
    v.split(',').map((x) => {
      const n = Number(x);
      if (!Number.isFinite(n)) throw new ConfigError(`not a number: ${x}`);
      return n;
    });
  const pda = values['pressure-driven'] ? numbers(values['pressure-driven']) : null;
  const sql = connect(requireDatabaseUrl(config), { max: 1 });
  try {
    await migrate(sql);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const r = await importNetwork(sql, {
      inpText: readFileSync(values.inp, 'utf8'),
      tenantId,
      idPattern: values['id-pattern'],
      ...(values.hours ? { hours: numbers(values.hours) } : {}),
      ...(values['leak-diameter'] ? { leakDiameterM: Number(values['leak-diameter']) } : {}),
      ...(pda ? { pressureDriven: { minM: pda[0] ?? 0, requiredM: pda[1] ?? 25 } } : {}),
      onProgress: (d, t) => process.stderr.write(`\rsimulating leaks ${((100 * d) / t).toFixed(0)} %`),
    });
    process.stderr.write('\n');
    console.log(
      `tenant ${tenantId}: ${r.candidates} candidate leak nodes, ${r.sensors} pressure points mapped` +
        `${r.unmapped.length > 0 ? ` (${r.unmapped.length} not in the model: ${r.unmapped.join(', ')})` : ''}` +
        ` in ${((performance.now() - t0) / 1000).toFixed(1)} s (CPU ${cpuSeconds(process.cpuUsage(cpu0)).toFixed(1)} s)`,
    );
  } finally {
    await sql.end();
  }
}

try {
  await main();
} catch (err) {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
}

/**
 * `node scripts/billing.ts <command>`: billed (authorised) consumption of a district for a period — the
 * water balance's authorised consumption where a district has no customer meters — in the database of
 * DATABASE_URL.
 *
 *   node scripts/billing.ts add --district d01 --from 2026-03-01 --to 2026-04-01 --volume 52000 [--unbilled 300]
 *   node scripts/billing.ts list [--district d01]
 *
 * Dates are local to the district (its time zone): --from is the first day billed, --to the day after
 * the last. `add` recomputes the balances already computed for the days (and months) of the period,
 * so /network/efficiency shows the billed figures at once. --tenant (default TENANT_ID), --json.
 */
import { parseArgs } from 'node:util';
import { postgresEfficiencyStore } from '../shared/adapters/postgres/cycle-stores.ts';
import { insertBilled, readBilled, storedDaySpan } from '../shared/adapters/postgres/efficiency.ts';
import { districtIds, findDistrict } from '../shared/adapters/postgres/registry.ts';
import { latestWindowEndMs } from '../shared/adapters/postgres/runs.ts';
import { ConfigError, loadConfig } from '../shared/config.ts';
import { updateEfficiency } from '../shared/cycle/rollup/efficiency.ts';
import { localToUtc } from '../shared/domain/local-time.ts';
import { openStorage } from '../shared/wiring/cycle.ts';

const USAGE = `usage: node scripts/billing.ts add --district D --from YYYY-MM-DD --to YYYY-MM-DD --volume M3 [--unbilled M3] [--tenant T] [--json]
       node scripts/billing.ts list [--district D] [--tenant T] [--json]`;

class UsageError extends Error {}

const DAY_MS = 86_400_000;

function localDay(label: string | undefined, timezone: string, what: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(label ?? '');
  if (!m) throw new UsageError(`${what}: a local date YYYY-MM-DD`);
  return localToUtc(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, timezone);
}

function volume(text: string | undefined, what: string, required: boolean): number | null {
  if (text === undefined && !required) return null;
  const v = Number(text);
  if (text === undefined || !Number.isFinite(v) || v < 0)
    throw new UsageError(`${what}: a volume in m³, ≥ 0`);
  return v;
}

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      district: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      volume: { type: 'string' },
      unbilled: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const tenantId = values.tenant ?? config.TENANT_ID;
  const { sql } = await openStorage({ ...config, PG_POOL_MAX: 2 });
  const print = (human: string, data: unknown) => console.log(values.json ? JSON.stringify(data) : human);
  try {
    if (command === 'list') {
      const districts = values.district ? [values.district] : await districtIds(sql, tenantId);
      const rows = await readBilled(
        sql,
        tenantId,
        districts,
        Number.NEGATIVE_INFINITY,
        Number.POSITIVE_INFINITY,
      );
      print(
        rows
          .map(
            (r) =>
              `${r.id}\t${r.districtId}\t${new Date(r.fromMs).toISOString()} – ${new Date(r.toMs).toISOString()}\t${r.volumeM3} m³` +
              `${r.unbilledM3 !== null ? ` (+${r.unbilledM3} unbilled)` : ''}\t${r.source}`,
          )
          .join('\n') || '(no billed consumption)',
        rows,
      );
      return;
    }
    if (command !== 'add') throw new UsageError(`unknown command ${command}`);
    const district = await findDistrict(sql, tenantId, values.district ?? '');
    if (!district)
      throw new UsageError(`--district: no district ${values.district ?? '(missing)'} in tenant ${tenantId}`);
    const fromMs = localDay(values.from, district.timezone, '--from');
    const toMs = localDay(values.to, district.timezone, '--to');
    if (toMs <= fromMs) throw new UsageError('--to must be after --from');
    const id = await insertBilled(sql, {
      tenantId,
      districtId: district.id,
      fromMs,
      toMs,
      volumeM3: volume(values.volume, '--volume', true)!,
      unbilledM3: volume(values.unbilled, '--unbilled', false),
      source: 'cli',
    });
    // Recompute the balances the cycle already computed inside the period.
    const [span, now] = await Promise.all([
      storedDaySpan(sql, tenantId, district.id),
      latestWindowEndMs(sql, tenantId),
    ]);
    let recomputed: { day: string[]; month: string[] } = { day: [], month: [] };
    if (span && now !== null) {
      const first = Math.max(fromMs, localDay(span.first, district.timezone, 'stored day'));
      const last = Math.min(toMs - 1, localDay(span.last, district.timezone, 'stored day') + DAY_MS - 1);
      if (last >= first) {
        const days = Math.ceil((last - first) / DAY_MS) + 1;
        recomputed = (
          await updateEfficiency(
            postgresEfficiencyStore(sql),
            tenantId,
            [{ districtId: district.id, minMs: first, maxMs: last }],
            now,
            {
              maxDays: days,
            },
          )
        ).labels;
      }
    }
    print(
      `billed consumption ${id} added for ${district.id}: ${values.volume} m³ from ${values.from} to ${values.to}` +
        (recomputed.day.length
          ? `; recomputed ${recomputed.day.length} day(s) and ${recomputed.month.join(', ')}`
          : ''),
      { id, districtId: district.id, fromMs, toMs, recomputed },
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main(process.argv.slice(2)).catch((err) => {
  if (err instanceof UsageError || err instanceof ConfigError) {
    console.error(`${err.message}\n${USAGE}`);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});

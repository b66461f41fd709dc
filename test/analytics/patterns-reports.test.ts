/**
 * Consumption patterns and KPI reports through real cycles (simulator → dispatcher → in-process bus →
 * aggregator and rollup → PostgreSQL → API): three weeks of history, then cycles across a local midnight
 * that ends a week. The rollup computes the patterns of the day once and the daily and weekly reports once
 * (a rollup run again generates nothing); the API serves them as JSON, CSV and printable HTML, paged.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalStack, type LocalStack } from '../../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../../dev/peers/index.ts';
import { postgresKeyStore } from '../../shared/adapters/postgres/api-stores.ts';
import { createApp } from '../../shared/api/app.ts';
import { createKey } from '../../shared/api/auth/keys.ts';
import { loadConfig } from '../../shared/config.ts';
import { generateReports } from '../../shared/cycle/rollup/reports.ts';
import { silentLogger } from '../../shared/log.ts';
import { createSimulator, createSimulatorSource } from '../../shared/simulator/index.ts';
import { seedHistory } from './seed-history.ts';

const H = 3_600_000;
const D = 24 * H;
const SEED = 7;
const NODES = 12;
const T0 = Date.UTC(2026, 4, 4); // Monday
const LIVE = T0 + 21 * D; // Monday 2026-05-25 00:00 UTC, 02:00 in Rome: Sunday the 24th is complete

describe('consumption patterns and KPI reports in the cycle', {
  ...(await peerGate('postgres')),
  timeout: 400_000,
}, () => {
  let db: TestDatabase;
  let stack: LocalStack;
  let get: (path: string, accept?: string) => Promise<Response>;
  let districts: string[];

  before(
    async () => {
      db = await createTestDatabase();
      const config = loadConfig({
        DATABASE_URL: db.url,
        SIMULATOR_NODES: String(NODES),
        SIMULATOR_SEED: String(SEED),
        BUS_BACKEND: 'memory',
        COORDINATION_BACKEND: 'memory',
        LOG_LEVEL: 'error',
      });
      const live = createSimulator({ seed: SEED, nodes: NODES });
      stack = await createLocalStack(config, silentLogger, { source: createSimulatorSource(live) });
      await seedHistory(
        stack.storage,
        createSimulator({ seed: SEED, nodes: NODES, stepMs: 5 * 60_000 }),
        T0,
        LIVE,
      );
      for (const m of [30, 60, 90]) await stack.cycle(LIVE + m * 60_000);
      districts = (await live.network()).districts.map((d) => d.id);
      const { token } = await createKey(postgresKeyStore(db.sql), {
        tenantId: 'default',
        role: 'reader',
        name: 'reports',
        rateLimitPerMinute: 100_000,
      });
      const app = createApp(stack.api);
      get = (path, accept) =>
        app.request(path, {
          headers: { Authorization: `Bearer ${token}`, ...(accept ? { Accept: accept } : {}) },
        }) as Promise<Response>;
    },
    { timeout: 400_000 },
  );
  after(async () => {
    await stack?.close();
    await db?.drop();
  });

  test('patterns: computed once for the last complete local day, per district and network-wide', async () => {
    const rows = await db.sql<{ district_id: string; as_of_day: string }[]>`
      select district_id, as_of_day from consumption_patterns order by district_id`;
    assert.deepEqual(
      rows.map((r) => r.district_id),
      ['*', ...districts].sort(),
    );
    assert.ok(rows.every((r) => r.as_of_day === '2026-05-24'));
    const res = await get(`/api/v1/districts/${districts[0]}/patterns`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as {
      asOfDay: string;
      netInflow: {
        typicalDay: { weekday: { p10: number; p50: number; p90: number; n: number }[] };
        typicalWeek: unknown[];
        nightShare: { meanPercent: number; days: number };
        comparison: { vsLast4WeeksPercent: number | null; sameMonthLastYearMeanLps: number | null };
      };
      byKind: { kind: string }[];
    };
    assert.equal(body.asOfDay, '2026-05-24');
    const noon = body.netInflow.typicalDay.weekday[12]!;
    assert.ok(noon.n >= 14, `${noon.n} weekdays`);
    assert.ok(noon.p10 <= noon.p50 && noon.p50 <= noon.p90);
    assert.equal(body.netInflow.typicalWeek.length, 168);
    // Night (02–04) is a small share of a day's volume: 2 of 24 hours at the night's low.
    assert.ok(body.netInflow.nightShare.meanPercent > 0 && body.netInflow.nightShare.meanPercent < 100 / 12);
    assert.ok(body.netInflow.nightShare.days >= 14);
    assert.equal(body.netInflow.comparison.sameMonthLastYearMeanLps, null);
    assert.ok(body.byKind.some((k) => k.kind === 'inlet'));
    assert.equal((await get('/api/v1/network/patterns')).status, 200);
    assert.equal((await get('/api/v1/districts/nowhere/patterns')).status, 404);
  });

  test('reports: the last complete day and week, once, listed and served as JSON, CSV and HTML', async () => {
    const ids = (await db.sql<{ id: string }[]>`select id from kpi_reports order by id`).map((r) => r.id);
    const expected = [
      ...districts.flatMap((d) => [`daily:district:${d}:2026-05-24`, `weekly:district:${d}:2026-05-18`]),
      'daily:network:2026-05-24',
      'weekly:network:2026-05-18',
    ].sort();
    assert.deepEqual(ids, expected);
    // The rollup runs again (a redelivered fan-in): nothing is generated twice.
    const meters = await stack.aggregator.stores.rollup.districtMeters('default');
    assert.equal(
      await generateReports(stack.aggregator.stores.rollup, 'default', meters, LIVE + 90 * 60_000),
      0,
    );

    const daily = expected.filter((id) => id.startsWith('daily'));
    const page1 = await get('/api/v1/reports?period=daily&limit=1');
    assert.equal(page1.status, 200);
    const p1 = (await page1.json()) as { data: { id: string }[]; next: string | null };
    assert.equal(p1.data.length, 1);
    assert.ok(p1.next);
    const p2 = (await (await get(`/api/v1/reports?period=daily&limit=5&cursor=${p1.next}`)).json()) as {
      data: { id: string }[];
    };
    assert.equal(daily.length, districts.length + 1);
    assert.deepEqual([...p1.data, ...p2.data].map((r) => r.id).sort(), daily);
    const network = (await (await get('/api/v1/reports?period=weekly&district=network')).json()) as {
      data: { id: string }[];
    };
    assert.deepEqual(
      network.data.map((r) => r.id),
      ['weekly:network:2026-05-18'],
    );

    const id = `weekly:district:${districts[0]}:2026-05-18`;
    const json = (await (await get(`/api/v1/reports/${id}`)).json()) as {
      report: {
        anomalies: { opened: number };
        dataCompleteness: { percent: number; nodes: number };
        minimumNightFlow: { nights: unknown[] };
        periodStart: string;
      };
    };
    assert.equal(json.report.periodStart, '2026-05-17T22:00:00.000Z', 'Monday 00:00 in Rome');
    assert.ok(json.report.dataCompleteness.percent > 90, `${json.report.dataCompleteness.percent} %`);
    const [opened] = await db.sql<{ n: number }[]>`
      select count(*)::int4 as n from anomalies a left join nodes n on n.id = a.node_id
      where coalesce(a.district_id, n.district_id) = ${districts[0]!}
        and a.opened_at >= '2026-05-17T22:00:00Z' and a.opened_at < '2026-05-24T22:00:00Z'`;
    assert.equal(json.report.anomalies.opened, opened!.n);

    const csv = await get(`/api/v1/reports/${id}?format=csv`);
    assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.match(
      csv.headers.get('content-disposition') ?? '',
      /^attachment; filename="report-weekly_district_.*\.csv"$/,
    );
    const text = await csv.text();
    assert.match(text, /^section,metric,value\r\n/);
    assert.match(text, /\r\ndataCompleteness,percent,\d/);

    const html = await get(`/api/v1/reports/${id}`, 'text/html');
    assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.match(
      html.headers.get('content-security-policy') ?? '',
      /^default-src 'none'; style-src 'sha256-/,
    );
    const page = await html.text();
    assert.match(page, /<title>Weekly KPI report — district /);
    assert.doesNotMatch(page, /<script/i);
    assert.equal((await get('/api/v1/reports/daily:network:1999-01-01')).status, 404);
    assert.equal((await get('/api/v1/reports?period=monthly')).status, 400);
    // Documented, each with its operationId.
    const doc = (await (await get('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { operationId?: string }>>;
    };
    const ops = (path: string) => doc.paths[path]?.get?.operationId;
    assert.equal(ops('/api/v1/reports') ?? ops('/api/v1/reports/'), 'listReports');
    assert.equal(ops('/api/v1/reports/{id}'), 'getReport');
    assert.equal(ops('/api/v1/districts/{id}/patterns'), 'getDistrictPatterns');
    assert.equal(ops('/api/v1/network/patterns'), 'getNetworkPatterns');
  });
});

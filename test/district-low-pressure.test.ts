/**
 * A district losing pressure is one hydraulic event, not a fault of each sensor — through the real cycle
 * (CSV source → dispatcher → aggregator → rollup) on PostgreSQL.
 *
 * District d1 drains as L-Town's area C did in eval:leaks (random-12, 2018-02-08): its tank is empty and its
 * three pressure points fall below zero together for one reading every 35 minutes. Before, each point's own
 * detectors filed `out_of_range` and `spike` (32 data faults on L-Town); now the district files one
 * `low_pressure` anomaly naming the points, the lowest pressure and the tank. In d2 a single point reads
 * −0.5 bar once while its neighbours stay normal: still that sensor's `out_of_range`; and a reading beyond
 * physical limits (−5 bar) is still the node's own impossible value.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createLocalStack, type LocalStack } from '../dev/local-stack.ts';
import { createTestDatabase, peerGate, type TestDatabase } from '../dev/peers/index.ts';
import { loadConfig } from '../shared/config.ts';
import { HOUR_MS } from '../shared/domain/aggregate.ts';
import { gaussian, seededRandom } from '../shared/domain/random.ts';

const T0 = Date.UTC(2026, 2, 2); // a Monday
const STEP = 5 * 60_000;
const DRAINED = T0 + 24 * HOUR_MS;
const END = DRAINED + 2 * HOUR_MS;
const TENANT = 'lp';

const LEVELS: Record<string, [district: string, kind: string, bar: number]> = {
  p1: ['d1', 'pressure', 2.44],
  p2: ['d1', 'pressure', 2.93],
  p3: ['d1', 'pressure', 3.24],
  t1: ['d1', 'tank', 0.3],
  q1: ['d2', 'pressure', 2.0],
  q2: ['d2', 'pressure', 2.5],
  q3: ['d2', 'pressure', 3.0],
};
/** d1's points when its tank runs empty (L-Town's area C on 2018-02-08). */
const EMPTY: Record<string, number> = { p1: -0.81, p2: -0.33, p3: -0.01 };
const LONE_AT = DRAINED + 40 * 60_000;
const IMPOSSIBLE_AT = DRAINED + 70 * 60_000;

function reading(id: string, t: number, noise: () => number): number {
  const [, , bar] = LEVELS[id]!;
  if (id === 't1') return t >= DRAINED ? Math.abs(0.002 * noise()) : bar + 0.002 * noise();
  const drop = EMPTY[id];
  if (drop !== undefined && t >= DRAINED + 10 * 60_000 && (t - DRAINED - 10 * 60_000) % (35 * 60_000) === 0)
    return drop;
  if (id === 'q2' && t === LONE_AT) return -0.5;
  if (id === 'q3' && t === IMPOSSIBLE_AT) return -5;
  return bar + 0.01 * noise();
}

async function writeCsv(path: string): Promise<void> {
  const noise = gaussian(seededRandom(16));
  const lines = ['node_id,timestamp,ingestion_time,kind,district_id,pressure'];
  for (let t = T0; t <= END; t += STEP) {
    for (const [id, [district, kind]] of Object.entries(LEVELS)) {
      const at = (ms: number) => new Date(ms).toISOString();
      lines.push(`${id},${at(t)},${at(t + 60_000)},${kind},${district},${reading(id, t, noise).toFixed(4)}`);
    }
  }
  await writeFile(path, `${lines.join('\n')}\n`);
}

interface Row {
  type: string;
  node_id: string | null;
  district_id: string | null;
  subject: string;
  status: string;
  severity: string;
  evidence: Record<string, unknown>;
}

describe('a district losing pressure through the cycle', await peerGate('postgres'), () => {
  let db: TestDatabase;
  let stack: LocalStack;
  let dir: string;
  let rows: Row[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'low-pressure-'));
    const csv = join(dir, 'readings.csv');
    await writeCsv(csv);
    db = await createTestDatabase();
    stack = await createLocalStack(
      loadConfig({
        DATABASE_URL: db.url,
        READINGS_SOURCE: `csv:${csv}`,
        TENANT_ID: TENANT,
        LOG_LEVEL: 'error',
        BUS_BACKEND: 'memory',
        COORDINATION_BACKEND: 'memory',
      }),
    );
    await stack.cycle(T0, T0);
    for (let t = T0 + 6 * HOUR_MS; t <= DRAINED; t += 6 * HOUR_MS) await stack.cycle(t, T0);
    for (let t = DRAINED + 30 * 60_000; t <= END; t += 30 * 60_000) await stack.cycle(t, T0);
    rows = await db.sql<Row[]>`
      select type, node_id, district_id, subject, status, severity, evidence from anomalies
      where status <> 'pending' order by district_id, type, node_id`;
  });

  after(async () => {
    await stack?.close();
    await db?.drop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('d1’s points falling together: one low-pressure event with its evidence, no sensor faults', () => {
    const d1 = rows.filter((r) => r.district_id === 'd1');
    assert.deepEqual(
      d1.map((r) => [r.type, r.node_id, r.subject, r.status, r.severity]),
      [['low_pressure', 'p1', 'district', 'open', 'critical']],
      JSON.stringify(rows),
    );
    const e = d1[0]!.evidence;
    assert.equal(e.points, 'p1,p2,p3');
    assert.equal(e.pointsDropped, 3);
    assert.equal(e.minPressureBar, -0.81);
    assert.equal(e.tank, 't1');
    assert.ok((e.tankMinLevelBar as number) < 0.01, `tank at ${e.tankMinLevelBar} bar`);
  });

  test('d2’s single point out of range while its neighbours stay normal is that sensor’s fault', () => {
    const d2 = rows.filter((r) => r.district_id === 'd2');
    assert.equal(
      d2.some((r) => r.type === 'low_pressure'),
      false,
    );
    const lone = d2.filter((r) => r.node_id === 'q2').map((r) => [r.type, r.subject]);
    assert.deepEqual(lone, [
      ['out_of_range', 'district'],
      ['spike', 'district'],
    ]);
    const worst = d2.find((r) => r.node_id === 'q2' && r.type === 'out_of_range')!.evidence.worst;
    assert.equal(worst, -0.5);
  });

  test('a physically impossible reading is still the node’s own out-of-range fault', () => {
    const impossible = rows.filter((r) => r.node_id === 'q3');
    assert.deepEqual(
      impossible.map((r) => [r.type, r.subject, r.evidence.impossible]),
      [['out_of_range', 'node', 1]],
    );
  });
});

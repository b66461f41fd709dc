import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reading } from '../domain/readings.ts';
import { createSimulator, createSimulatorSource, DAY_MS, HOUR_MS, MINUTE_MS } from './index.ts';

const T0 = Date.UTC(2025, 4, 5); // a Monday
const key = (r: Reading) => `${r.nodeId}|${r.ts}|${r.ingestedAt}`;

describe('ingestion', () => {
  /** Ingestion statistics of a week of every node, from the columns (fast). */
  function shares(sim: ReturnType<typeof createSimulator>) {
    let rows = 0;
    let late = 0;
    let onTime = 0;
    let copies = 0;
    let partial = 0;
    for (const node of sim.network().nodes) {
      const c = sim.columns(node.id, T0, T0 + 7 * DAY_MS);
      const cols = node.metrics.map((m) => c.values[m]!);
      rows += c.length;
      for (let i = 0; i < c.length; i++) {
        const delay = c.ingestedAt[i]! - c.ts[i]!;
        assert.ok(delay >= 10_000 && delay <= sim.maxLatenessMs, `${node.id}: delay ${delay}`);
        if (delay > HOUR_MS) late++;
        if (delay <= 120_000) onTime++;
        if (cols.some((col) => Number.isNaN(col[i]!))) partial++;
        if (i > 0 && c.ts[i] === c.ts[i - 1]) {
          // A copy: right after its original, same values, delivered 1 s to 10 min later.
          copies++;
          for (const col of cols) assert.ok(Object.is(col[i], col[i - 1]));
          const lag = c.ingestedAt[i]! - c.ingestedAt[i - 1]!;
          assert.ok(lag >= 1000 && lag <= 10 * MINUTE_MS, `copy ${lag} ms later`);
        }
      }
    }
    return {
      late: late / rows,
      onTime: onTime / rows,
      duplicates: copies / (rows - copies),
      partial: partial / rows,
    };
  }

  it('delivers readings 10–120 s after their time, some hours late and some twice, as configured', () => {
    const s = shares(
      createSimulator({ seed: 31, nodes: 48, ingestion: { lateShare: 0.05, duplicateShare: 0.02 } }),
    );
    assert.ok(s.late > 0.035 && s.late < 0.065, `late share ${s.late}`);
    assert.ok(s.onTime > 0.9, `on-time share ${s.onTime}`);
    assert.ok(s.duplicates > 0.015 && s.duplicates < 0.025, `duplicate share ${s.duplicates}`);
  });

  it('uses defaults of about 1 % late hours, 0.5 % duplicates and 0.2 % partial readings', () => {
    const s = shares(createSimulator({ seed: 32, nodes: 48 }));
    assert.ok(s.late > 0.004 && s.late < 0.02, `late share ${s.late}`);
    assert.ok(s.duplicates > 0.003 && s.duplicates < 0.008, `duplicate share ${s.duplicates}`);
    assert.ok(s.partial > 0.001 && s.partial < 0.004, `partial share ${s.partial}`);
  });

  it('readIngested windows partition the readings: nothing lost, nothing counted twice', () => {
    const sim = createSimulator({
      seed: 33,
      nodes: 24,
      ingestion: { lateShare: 0.05, duplicateShare: 0.02 },
    });
    const from = T0;
    const to = T0 + DAY_MS;
    const expected = sim.readings(from, to);
    const got: Reading[] = [];
    let lateInWindow = 0;
    const cycle = 30 * MINUTE_MS;
    for (let w = from; w < to + sim.maxLatenessMs; w += cycle) {
      const window = { fromIngestMs: w, toIngestMs: w + cycle, minTsMs: from };
      const batch = sim.readIngested(window);
      assert.equal(batch.bytesProcessed, 0);
      for (const r of batch.readings) {
        assert.ok(r.ingestedAt > window.fromIngestMs && r.ingestedAt <= window.toIngestMs);
        assert.ok(r.ts >= window.minTsMs);
        if (r.ts < window.fromIngestMs - HOUR_MS) lateInWindow++;
        if (r.ts < to) got.push(r);
      }
    }
    assert.ok(lateInWindow > 0, 'late readings older than the window are delivered');
    const keys = got.map(key);
    assert.equal(new Set(keys).size, keys.length, 'a reading was delivered by two windows');
    assert.equal(got.length, expected.length);
    const byKey = new Map(expected.map((r) => [key(r), r]));
    for (const r of got) assert.deepEqual(r, byKey.get(key(r)));
  });

  it('readIngested honours minTsMs and serves as a ReadingSource', async () => {
    const source = createSimulatorSource({ seed: 34, nodes: 12, ingestion: { lateShare: 0.2 } });
    const window = {
      fromIngestMs: T0 + 5 * HOUR_MS,
      toIngestMs: T0 + 6 * HOUR_MS,
      minTsMs: T0 + 4 * HOUR_MS,
    };
    const batch = await source.readIngested(window);
    assert.ok(batch.readings.length > 0);
    assert.ok(batch.readings.every((r) => r.ts >= window.minTsMs));
    const open = await source.readIngested({ ...window, minTsMs: 0 });
    assert.ok(
      open.readings.some((r) => r.ts < window.minTsMs),
      'older late readings exist without the bound',
    );
    assert.deepEqual(
      open.readings
        .filter((r) => r.ts >= window.minTsMs)
        .map(key)
        .sort(),
      batch.readings.map(key).sort(),
    );
  });

  it('readIngestedColumns holds exactly readIngested’s readings, per node and in time order', async () => {
    const sim = createSimulator({ seed: 4, nodes: 30, ingestion: { lateShare: 0.2 } });
    const window = { fromIngestMs: T0 + 8 * HOUR_MS, toIngestMs: T0 + DAY_MS, minTsMs: T0 };
    const ids = sim.network().nodes.map((n) => n.id);
    const picked = ids.filter((_, i) => i % 3 !== 1);
    const expected = sim.readIngested(window).readings.filter((r) => picked.includes(r.nodeId));
    const columns = await createSimulatorSource(sim).readColumns(window, picked);
    assert.deepEqual(
      columns.map((c) => c.nodeId),
      picked,
    );
    const rows: Reading[] = [];
    for (const c of columns) {
      for (let i = 0; i < c.length; i++) {
        if (i > 0)
          assert.ok(c.ts[i - 1]! < c.ts[i]! || c.ingestedAt[i - 1]! < c.ingestedAt[i]!, 'time order');
        const values: Reading['values'] = {};
        for (const [m, col] of Object.entries(c.values))
          values[m as keyof Reading['values']] = Number.isNaN(col[i]!) ? null : col[i]!;
        rows.push({ nodeId: c.nodeId, ts: c.ts[i]!, ingestedAt: c.ingestedAt[i]!, values });
      }
    }
    assert.ok(
      rows.some((r) => r.ts < window.fromIngestMs - HOUR_MS),
      'late hours are included',
    );
    const byKey = (list: Reading[]) => new Map(list.map((r) => [key(r), r]));
    assert.deepEqual(byKey(rows), byKey(expected));
  });
});

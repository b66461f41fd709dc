/**
 * When readings reach the cold store. Normally ts + 10–120 s. A share of node-hours is delivered late
 * as one batch (a logger that buffered and uploaded hours later), and a share of readings is delivered
 * twice (an at-least-once retry: same reading, later ingestion time). All of it is hashed from
 * (seed, node, time), like the values.
 */
import { HOUR_MS, MINUTE_MS } from './calendar.ts';
import { at, keyOf, mix32, unit } from './hash.ts';
import type { NodeModel } from './network.ts';

export interface IngestionOptions {
  /** Shortest normal delay between a reading's time and its ingestion, ms. */
  minDelayMs: number;
  /** Longest normal delay, ms. */
  maxDelayMs: number;
  /** Share of node-hours whose readings all arrive late, in one batch. */
  lateShare: number;
  /** A late batch arrives this long after the end of its hour, at least… */
  lateMinMs: number;
  /** …and at most. */
  lateMaxMs: number;
  /** Share of readings delivered a second time. */
  duplicateShare: number;
  /** The second copy arrives 1 s to this long after the first. */
  duplicateMaxDelayMs: number;
}

export const DEFAULT_INGESTION: IngestionOptions = {
  minDelayMs: 10_000,
  maxDelayMs: 120_000,
  lateShare: 0.01,
  lateMinMs: HOUR_MS,
  lateMaxMs: 6 * HOUR_MS,
  duplicateShare: 0.005,
  duplicateMaxDelayMs: 10 * MINUTE_MS,
};

/** Late batches are whole UTC hours of one node. */
export const LATE_BLOCK_MS = HOUR_MS;

export function validateIngestion(o: IngestionOptions): IngestionOptions {
  const problems: string[] = [];
  if (!(o.minDelayMs >= 1 && o.maxDelayMs >= o.minDelayMs)) problems.push('need 1 ≤ minDelayMs ≤ maxDelayMs');
  if (!(o.lateMinMs >= 0 && o.lateMaxMs >= o.lateMinMs)) problems.push('need 0 ≤ lateMinMs ≤ lateMaxMs');
  if (!(o.lateShare >= 0 && o.lateShare <= 1)) problems.push('lateShare must be in [0, 1]');
  if (!(o.duplicateShare >= 0 && o.duplicateShare <= 1)) problems.push('duplicateShare must be in [0, 1]');
  if (!(o.duplicateMaxDelayMs >= 1000)) problems.push('duplicateMaxDelayMs must be ≥ 1000');
  if (problems.length > 0)
    throw new RangeError(`invalid simulator ingestion options: ${problems.join('; ')}`);
  return o;
}

/** Upper bound of ingestedAt − ts over every reading the options can produce. */
export function maxLatenessMs(o: IngestionOptions): number {
  return LATE_BLOCK_MS + o.lateMaxMs + o.maxDelayMs + o.duplicateMaxDelayMs;
}

/** Upper bound of ingestedAt − ts for readings that are not in a late batch. */
export function maxNormalLatenessMs(o: IngestionOptions): number {
  return o.maxDelayMs + o.duplicateMaxDelayMs;
}

/**
 * Per-node ingestion draws. Each reading has one hash (`rowHash`) from which its delay and duplication
 * are derived (and, in readings.ts, a missing metric): one hash chain per reading keeps generation fast.
 */
export class NodeIngestion {
  private readonly rowKey: number;
  private readonly lateKey: number;

  private readonly o: IngestionOptions;

  constructor(node: NodeModel, o: IngestionOptions) {
    this.o = o;
    this.rowKey = keyOf(node.key, 80);
    this.lateKey = keyOf(node.key, 82);
  }

  /** How long after the end of UTC hour `hour` its batch arrives, or 0 when the hour is not late. */
  lateDelay(hour: number): number {
    if (this.o.lateShare <= 0) return 0;
    const h = at(this.lateKey, hour);
    if (unit(h) >= this.o.lateShare) return 0;
    const span = this.o.lateMaxMs - this.o.lateMinMs;
    return this.o.lateMinMs + Math.round((unit(mix32(h)) * span) / 1000) * 1000;
  }

  /** The hash of the reading at second `sec`. */
  rowHash(sec: number): number {
    return at(this.rowKey, sec);
  }

  /** Ingestion time of the reading at t with row hash h, given its hour's late delay. */
  ingestedAt(t: number, h: number, lateDelay: number): number {
    const base = lateDelay === 0 ? t : (Math.floor(t / LATE_BLOCK_MS) + 1) * LATE_BLOCK_MS + lateDelay;
    const u = unit(mix32(h ^ 0x5bd1e995));
    return base + this.o.minDelayMs + Math.round(u * (this.o.maxDelayMs - this.o.minDelayMs));
  }

  /** 0 when the reading with row hash h is delivered once, else how much later the copy arrives (ms). */
  duplicateDelay(h: number): number {
    const d = mix32(h + 0x27d4eb2f);
    if (unit(d) >= this.o.duplicateShare) return 0;
    return 1000 + Math.round(unit(mix32(d)) * (this.o.duplicateMaxDelayMs - 1000));
  }
}

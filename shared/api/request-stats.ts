/**
 * What the performance monitor shows of the API itself, since this instance started: latency
 * percentiles of the API's requests (a DDSketch, 1 % relative accuracy, constant memory) and how many
 * data reads each tier answered (memory, redis, postgres) — the cache hit ratio per tier. Fed by the
 * request log middleware (one sketch insert and one counter per request); read by /api/v1/status.
 * Per instance: in the cloud each instance reports its own.
 */
import { DDSketch } from '@datadog/sketches-js';

/** The tiers a data read is answered from (X-Cache-Tier); other requests (status, writes) are not counted. */
const DATA_TIERS = ['memory', 'redis', 'postgres'] as const;

export interface RequestFigures {
  since: string;
  requests: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  byTier: Record<string, number>;
  hitRatio: Record<string, number | null>;
}

export class RequestStats {
  private readonly since = new Date().toISOString();
  private sketch = new DDSketch({ relativeAccuracy: 0.01 });
  private requests = 0;
  private max = 0;
  private readonly tiers: Record<string, number> = { memory: 0, redis: 0, postgres: 0 };

  record(latencyMs: number, tier: string): void {
    this.requests++;
    this.sketch.accept(Math.max(latencyMs, 0.001));
    if (latencyMs > this.max) this.max = latencyMs;
    if (tier in this.tiers) this.tiers[tier]!++;
  }

  figures(): RequestFigures {
    const q = (p: number) =>
      this.requests === 0 ? null : Math.round(this.sketch.getValueAtQuantile(p) * 100) / 100;
    const reads = DATA_TIERS.reduce((s, t) => s + this.tiers[t]!, 0);
    const hitRatio: Record<string, number | null> = {};
    for (const t of DATA_TIERS)
      hitRatio[t] = reads === 0 ? null : Math.round((this.tiers[t]! / reads) * 1000) / 1000;
    return {
      since: this.since,
      requests: this.requests,
      latencyMs: { p50: q(0.5), p95: q(0.95), p99: q(0.99), max: this.requests === 0 ? null : this.max },
      byTier: { ...this.tiers },
      hitRatio,
    };
  }
}

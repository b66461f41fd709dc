/**
 * A circuit breaker per tier below memory (PostgreSQL, Redis), with cockatiel: every call to a tier
 * runs under a deadline (abandoned past it, so a hung peer cannot hold a request) and through the
 * tier's breaker. After `threshold` failures in a row the tier is skipped for `cooldownMs` — a call
 * then fails at once with TierOpen, costing microseconds instead of a connect timeout — and then
 * one call probes it again (half-open): success closes the breaker, failure opens it for another
 * cool-down.
 *
 * One log line per transition: WARNING `api.tier_open` when a working tier opens, INFO
 * `api.tier_closed` when it works again; a failed probe during an outage logs nothing.
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  handleWhen,
  TaskCancelledError,
  type TimeoutPolicy,
  TimeoutStrategy,
  timeout,
} from 'cockatiel';
import type { Logger } from '../log.ts';

export type BreakerTier = 'postgres' | 'redis';

/** The tier's breaker is open: the call was not made. */
export class TierOpen extends Error {
  override name = 'TierOpen';
  readonly tier: BreakerTier;
  constructor(tier: BreakerTier, options?: { cause?: unknown }) {
    super(`the ${tier} tier is skipped for a cool-down after failing`, options);
    this.tier = tier;
  }
}

/** The call took longer than the tier's deadline and was abandoned. */
export class TierTimeout extends Error {
  override name = 'TierTimeout';
  readonly code = 'TIER_TIMEOUT';
}

export interface BreakerOptions {
  /** How long an open breaker skips the tier before one call probes it. */
  cooldownMs: number;
  /** Deadline of one call. */
  timeoutMs: number;
  /** Failures in a row that open the breaker. */
  threshold: number;
  /** Which errors mean the tier is failing (others, like a bad query, pass through uncounted). */
  isFailure: (err: unknown) => boolean;
  logger: Logger;
}

export class TierBreaker {
  readonly tier: BreakerTier;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly deadline: TimeoutPolicy;
  private down = false;

  constructor(tier: BreakerTier, options: BreakerOptions) {
    this.tier = tier;
    // The calls take no AbortSignal, so the policy's controller is aborted only on a timeout: aborting
    // it after every call (cockatiel's default) built a DOMException, with its stack, per tier call —
    // 1–2 % of the API's CPU on the miss path (bench:api --miss, --profile).
    this.deadline = timeout(options.timeoutMs, {
      strategy: TimeoutStrategy.Aggressive,
      abortOnReturn: false,
    });
    this.breaker = circuitBreaker(
      handleWhen((err) => err instanceof TierTimeout || options.isFailure(err)),
      { halfOpenAfter: options.cooldownMs, breaker: new ConsecutiveBreaker(options.threshold) },
    );
    this.breaker.onBreak((reason) => {
      if (this.down) return;
      this.down = true;
      const err = 'error' in reason ? reason.error : undefined;
      options.logger.warn(`${tier} tier down; skipping it for ${options.cooldownMs} ms between probes`, {
        event: 'api.tier_open',
        tier,
        err,
      });
    });
    this.breaker.onReset(() => {
      if (!this.down) return;
      this.down = false;
      options.logger.info(`${tier} tier back`, { event: 'api.tier_closed', tier });
    });
  }

  /**
   * Whether the breaker is open (or half-open with its probe under way). An open breaker whose
   * cool-down has run out still says so until the next call probes the tier.
   */
  get isOpen(): boolean {
    return this.breaker.state === CircuitState.Open || this.breaker.state === CircuitState.Isolated;
  }

  /** Runs `fn` under the deadline and the breaker; TierOpen at once while the breaker is open. */
  async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.breaker.execute(async () => {
        try {
          return await this.deadline.execute(fn);
        } catch (err) {
          if (err instanceof TaskCancelledError) throw new TierTimeout(`${this.tier} did not answer in time`);
          throw err;
        }
      });
    } catch (err) {
      if (err instanceof BrokenCircuitError) throw new TierOpen(this.tier, { cause: err });
      throw err;
    }
  }
}

export interface TierBreakers {
  postgres: TierBreaker;
  redis: TierBreaker;
}

/** Whether an error is one of the breakers' own (the tier was skipped or too slow). */
export const isBreakerError = (err: unknown): boolean =>
  err instanceof TierOpen || err instanceof TierTimeout;

export function createTierBreakers(options: {
  cooldownMs: number;
  postgresTimeoutMs: number;
  redisTimeoutMs: number;
  threshold: number;
  isPostgresUnavailable: (err: unknown) => boolean;
  logger: Logger;
}): TierBreakers {
  const common = { cooldownMs: options.cooldownMs, threshold: options.threshold, logger: options.logger };
  return {
    postgres: new TierBreaker('postgres', {
      ...common,
      timeoutMs: options.postgresTimeoutMs,
      isFailure: options.isPostgresUnavailable,
    }),
    // Any error of the hot cache means it cannot answer (a miss is null, not an error).
    redis: new TierBreaker('redis', { ...common, timeoutMs: options.redisTimeoutMs, isFailure: () => true }),
  };
}

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../log.ts';
import { TierBreaker, TierOpen, TierTimeout } from './breakers.ts';

function breaker(options: { cooldownMs?: number; timeoutMs?: number } = {}) {
  const lines: { severity: string; event: string }[] = [];
  const logger = createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) });
  const b = new TierBreaker('postgres', {
    cooldownMs: options.cooldownMs ?? 60_000,
    timeoutMs: options.timeoutMs ?? 5_000,
    threshold: 3,
    isFailure: (err) => (err as { code?: string }).code === 'ECONNREFUSED',
    logger,
  });
  return { b, lines };
}

const refused = () => Promise.reject(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));

test('opens after three failures in a row, then skips the tier without calling it; one log line', async () => {
  const { b, lines } = breaker();
  for (let i = 0; i < 3; i++) await assert.rejects(b.execute(refused), /refused/);
  assert.ok(b.isOpen);
  let called = 0;
  for (let i = 0; i < 50; i++) {
    await assert.rejects(
      b.execute(async () => {
        called++;
      }),
      TierOpen,
    );
  }
  assert.equal(called, 0, 'an open breaker never calls the tier');
  assert.deepEqual(
    lines.map((l) => [l.severity, l.event]),
    [['WARNING', 'api.tier_open']],
  );
});

test('errors that are not failures of the tier (a bad query) pass through and never open it', async () => {
  const { b } = breaker();
  for (let i = 0; i < 5; i++)
    await assert.rejects(
      b.execute(() => Promise.reject(new Error('syntax'))),
      /syntax/,
    );
  assert.equal(b.isOpen, false);
});

test('after the cool-down one call probes: success closes it with one line, a failure reopens it silently', async () => {
  const { b, lines } = breaker({ cooldownMs: 20 });
  for (let i = 0; i < 3; i++) await assert.rejects(b.execute(refused));
  // Calls skipped (TierOpen) until the cool-down has run out; then the next call reaches the tier.
  const afterCooldown = async <T>(fn: () => Promise<T>): Promise<T> => {
    for (const deadline = Date.now() + 5000; ; ) {
      try {
        return await b.execute(fn);
      } catch (err) {
        if (!(err instanceof TierOpen)) throw err;
      }
      assert.ok(Date.now() < deadline, 'the cool-down ends');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  await assert.rejects(afterCooldown(refused), /refused/, 'the probe reaches the tier');
  await assert.rejects(
    b.execute(async () => 1),
    TierOpen,
    'a failed probe opens it again',
  );
  assert.equal(await afterCooldown(async () => 42), 42);
  assert.equal(b.isOpen, false);
  assert.deepEqual(
    lines.map((l) => l.event),
    ['api.tier_open', 'api.tier_closed'],
  );
});

test('a call past its deadline is abandoned with TierTimeout and counts as a failure', async () => {
  const { b } = breaker({ timeoutMs: 20 });
  let release: () => void = () => {};
  const hung = () => new Promise<void>((resolve) => (release = resolve));
  for (let i = 0; i < 3; i++) {
    await assert.rejects(b.execute(hung), TierTimeout);
    release();
  }
  assert.ok(b.isOpen);
});

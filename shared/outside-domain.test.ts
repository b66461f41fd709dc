import assert from 'node:assert/strict';
import { createHook } from 'node:async_hooks';
import domain from 'node:domain';
import { test } from 'node:test';
import { outsideDomain } from './outside-domain.ts';

const active = () => (process as { domain?: unknown }).domain ?? null;

test('work runs with no active domain, its promises carry none, and the domain is active again after', async () => {
  const d = domain.create();
  const tagged: unknown[] = [];
  // The domain module tags each promise made while a domain is active with `resource.domain`.
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'PROMISE') tagged.push((resource as { domain?: unknown }).domain ?? null);
    },
  }).enable();
  try {
    const seen = await new Promise<{ inside: unknown; after: unknown; outsideTags: unknown[] }>((resolve) => {
      d.run(() => {
        assert.equal(active(), d);
        tagged.length = 0;
        let inside: unknown;
        const work = outsideDomain(async () => {
          inside = active();
          await Promise.resolve();
          await new Promise((r) => setImmediate(r));
          return 1;
        });
        const outsideTags = [...tagged];
        const after = active();
        void work.then(() => resolve({ inside, after, outsideTags }));
      });
    });
    assert.equal(seen.inside, null);
    assert.equal(seen.after, d);
    assert.ok(seen.outsideTags.length > 0);
    assert.ok(seen.outsideTags.every((t) => t === null));
    // Without it, the same work's promises are tagged with the domain (what the framework costs).
    tagged.length = 0;
    await new Promise<void>((resolve) => {
      d.run(() => {
        void (async () => {
          await Promise.resolve();
        })().then(() => resolve());
      });
    });
    assert.ok(tagged.some((t) => t === d));
  } finally {
    hook.disable();
    d.exit();
  }
});

test('a rejection of the work reaches the caller', async () => {
  const d = domain.create();
  const result = await new Promise<unknown>((resolve) => {
    d.run(() => {
      outsideDomain(async () => {
        throw new Error('boom');
      }).catch(resolve);
    });
  });
  assert.equal((result as Error).message, 'boom');
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { test } from 'node:test';
import { gcFlagsFor } from './gc-threads.ts';

test('parallel scavenging is turned off with one CPU only', () => {
  assert.deepEqual(gcFlagsFor(1), ['--no-parallel-scavenge']);
  assert.deepEqual(gcFlagsFor(2), []);
  assert.deepEqual(gcFlagsFor(8), []);
});

/** What a fresh process on `cpus` (a taskset CPU list) sets. */
const setIn = (cpus: string): string[] =>
  JSON.parse(
    execFileSync(
      'taskset',
      [
        '-c',
        cpus,
        process.execPath,
        '--input-type=module',
        '-e',
        `import { scavengeOnMainThreadWhenAlone } from ${JSON.stringify(new URL('./gc-threads.ts', import.meta.url).href)};
         console.log(JSON.stringify(scavengeOnMainThreadWhenAlone()));`,
      ],
      { encoding: 'utf8' },
    ),
  );

test('a process pinned to one core (as bench:api runs the API) sets it; one with two or more does not', () => {
  assert.deepEqual(setIn('0'), ['--no-parallel-scavenge']);
  if (availableParallelism() >= 2) assert.deepEqual(setIn('0,1'), []);
});

/**
 * The young generation's collector (V8's scavenger) on the main thread when the process has one CPU.
 *
 * V8 scavenges in parallel: the main thread stops, hands parts of the young generation to helper
 * threads and waits for all of them. With one CPU (a Cloud Run instance of 1 vCPU, or the API pinned
 * to one core as bench:api runs it) the helpers cannot run beside the main thread, only instead of
 * it, and when the CPU is also wanted by anything else the main thread waits for helpers the
 * scheduler has not run yet. Every request in flight waits with it. Measured on this machine (one
 * core, shared with other work, load 15; a request-like allocation loop, two processes side by side):
 * scavenge pauses p50 13–18 ms in parallel against 0.65 ms with `--no-parallel-scavenge`, the sum of
 * pauses 1.4–1.9 s against 0.56–0.68 s in 8 s. In the API's own profile (bench:api --miss, same load)
 * 87 collector pauses in 27 s had a median of 10–14 ms: the largest single stall of a Redis read.
 *
 * The flag cannot be given in NODE_OPTIONS (Node refuses V8 flags outside a short list there, and the
 * functions framework is started by the platform), so the process sets it at start; V8 reads it at
 * each scavenge. `--single-threaded-gc` would also stop concurrent marking, but set at run time it
 * does not take effect (its implications are resolved at start-up only): measured, no change.
 * With two CPUs or more, parallel scavenging stays (it is faster there).
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';

/** The V8 flags for a process that may use `cpus` CPUs. */
export function gcFlagsFor(cpus: number): string[] {
  return cpus <= 1 ? ['--no-parallel-scavenge'] : [];
}

/**
 * Sets the flags for the CPUs this process may use (libuv's count: the affinity mask and the
 * cgroup's CPU quota). Idempotent; returns the flags set.
 */
export function scavengeOnMainThreadWhenAlone(cpus = availableParallelism()): string[] {
  const flags = gcFlagsFor(cpus);
  for (const flag of flags) setFlagsFromString(flag);
  return flags;
}

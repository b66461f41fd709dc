/**
 * The Functions Framework runs every request inside a Node.js `domain` (deprecated), which turns on
 * async hooks for every promise made while the domain is active: each one is tagged with the domain,
 * gets a destroy hook (a weak reference the GC must process) and enters and exits the domain around
 * its continuation. For the aggregator, whose work is thousands of promises per node (PostgreSQL,
 * Redis, Firestore), that was about a sixth of its CPU (bench:cycle, `--cpu-prof`).
 *
 * `outsideDomain` starts `work` with no active domain, so the promises it makes carry none; the
 * domain is re-entered before returning, as the framework expects. Errors still reach the framework
 * through the returned promise (a rejection is a 500, and Pub/Sub redelivers); only an exception
 * thrown from a bare callback of `work` would no longer be caught by the domain, and the process's
 * own uncaught-exception handling (the framework logs and exits) applies instead.
 */
import type { Domain } from 'node:domain';

export function outsideDomain<T>(work: () => Promise<T>): Promise<T> {
  // Node sets process.domain while a domain is active (the types leave it out).
  const active = (process as { domain?: Domain | null }).domain;
  if (!active) return work();
  active.exit();
  try {
    return work();
  } finally {
    active.enter();
  }
}

/**
 * Connections to Upstash reused: @upstash/redis calls the global `fetch` (its `agent` option is for
 * node-fetch and is ignored by Node's fetch), so the process's fetch gets an undici Agent sized for
 * the instance's concurrency, with keep-alive.
 *
 * Why it matters: undici keeps a connection only while the server's `Keep-Alive: timeout=N` hint
 * minus a safety threshold (2 s by default) is positive, so a server that hints 1 s (Node's default
 * for some servers, the test harness's before) had every request open a new connection — a TCP (and,
 * in the cloud, TLS) handshake per Redis command. Here the threshold is 500 ms.
 */
import type { Agent as UndiciAgent } from 'undici';
// The Agent and the dispatcher setter alone, not undici's index: the API loads this on its first
// request (Upstash configured), and the index is three times the code (bench:cold-start, issue 14).
import Agent from 'undici/lib/dispatcher/agent.js';
import { getGlobalDispatcher, setGlobalDispatcher } from 'undici/lib/global.js';

let installed: UndiciAgent | undefined;

/** Installs the keep-alive agent once per process (later calls keep the first one). */
export function useKeepAliveAgent(options: { connections: number }): UndiciAgent {
  if (installed && getGlobalDispatcher() === installed) return installed;
  installed = new Agent({
    connections: options.connections,
    keepAliveTimeout: 30_000,
    keepAliveMaxTimeout: 60_000,
    keepAliveTimeoutThreshold: 500,
  });
  setGlobalDispatcher(installed);
  return installed;
}

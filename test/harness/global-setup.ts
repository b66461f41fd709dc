/**
 * `node --test --test-global-setup=test/harness/global-setup.ts`: settles the real peers once per
 * run. Test files run in child processes of the runner, and inherit what this puts in process.env.
 */
import {
  describePeers,
  PEER_ENV,
  PEER_NAMES,
  type StartedPeers,
  startPeers,
} from '../../dev/peers/start-peers.ts';

let peers: StartedPeers | undefined;

export async function globalSetup(): Promise<void> {
  const started = performance.now();
  peers = await startPeers(PEER_NAMES);

  Object.assign(process.env, peers.env);
  // Google client libraries otherwise probe for a GCE metadata server (slow, and a warning per file).
  process.env['METADATA_SERVER_DETECTION'] ??= 'none';
  process.env[PEER_ENV.missing] = JSON.stringify(peers.missing);
  process.env[PEER_ENV.ready] = '1';

  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  process.stderr.write(`test peers (${seconds} s):\n${describePeers(peers, PEER_NAMES)}\n`);
}

export async function globalTeardown(): Promise<void> {
  await peers?.stop();
  peers = undefined;
}

/**
 * A fault-injecting TCP proxy for tests (Toxiproxy is not packaged here): put it between the code
 * and a real peer (PostgreSQL, the Upstash REST server, an emulator), then on command
 *
 * - `refuse()`: new connections are accepted and reset at once (RST), so the client sees a refused
 *   connection (ECONNRESET) and the proxy can count it — a closed port could not be counted;
 * - `cut()`: every live connection is destroyed mid-stream (both sides);
 * - `latency(ms)`: every chunk, both ways, is held back `ms` (order kept);
 * - `heal()`: back to a plain pass-through.
 *
 * `stats` counts what was accepted, refused and cut, so a fault test can assert that the fault
 * really happened, not only that the system recovered.
 *
 * @example
 *   const proxy = await startFaultProxy({ host: '127.0.0.1', port: 5432 });
 *   proxy.refuse(); proxy.cut();          // PostgreSQL "goes away"
 *   assert.ok(proxy.stats.refused > 0);   // … and the code really met the fault
 *   proxy.heal(); await proxy.close();
 */
import { createServer, type Socket, connect as tcpConnect } from 'node:net';

export interface FaultStats {
  /** Connections passed through to the peer. */
  accepted: number;
  /** Connections reset on arrival while refusing. */
  refused: number;
  /** Live connections destroyed by cut(). */
  cut: number;
  /** Chunks held back by latency(). */
  delayed: number;
}

export interface FaultProxy {
  readonly host: string;
  readonly port: number;
  readonly stats: Readonly<FaultStats>;
  /** Live client connections. */
  readonly open: number;
  refuse(): void;
  /** Destroys every live connection; returns how many. */
  cut(): number;
  latency(ms: number): void;
  /** refuse() and cut(): the peer is gone. */
  down(): number;
  heal(): void;
  close(): Promise<void>;
}

/** Writes chunks to `dest` in order, each no earlier than `delayMs()` after it arrived. */
function delayedWriter(dest: Socket, delayMs: () => number, stats: FaultStats) {
  const queue: { due: number; chunk: Buffer }[] = [];
  let timer: NodeJS.Timeout | undefined;
  const drain = () => {
    timer = undefined;
    const now = Date.now();
    while (queue.length > 0 && queue[0]!.due <= now) {
      const { chunk } = queue.shift()!;
      if (!dest.destroyed) dest.write(chunk);
    }
    if (queue.length > 0) timer = setTimeout(drain, queue[0]!.due - now);
  };
  return {
    push(chunk: Buffer) {
      const ms = delayMs();
      if (ms <= 0 && queue.length === 0) {
        if (!dest.destroyed) dest.write(chunk);
        return;
      }
      if (ms > 0) stats.delayed++;
      queue.push({ due: Date.now() + ms, chunk });
      timer ??= setTimeout(drain, Math.max(0, ms));
    },
    stop() {
      clearTimeout(timer);
      queue.length = 0;
    },
  };
}

export async function startFaultProxy(
  target: { host: string; port: number },
  options: { port?: number } = {},
): Promise<FaultProxy> {
  const stats: FaultStats = { accepted: 0, refused: 0, cut: 0, delayed: 0 };
  const live = new Set<Socket>();
  let refusing = false;
  let delayMs = 0;

  const server = createServer((client) => {
    client.on('error', () => client.destroy());
    if (refusing) {
      stats.refused++;
      client.resetAndDestroy();
      return;
    }
    stats.accepted++;
    live.add(client);
    const upstream = tcpConnect(target.port, target.host);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const toUpstream = delayedWriter(upstream, () => delayMs, stats);
    const toClient = delayedWriter(client, () => delayMs, stats);
    client.on('data', (chunk: Buffer) => toUpstream.push(chunk));
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk));
    const close = () => {
      live.delete(client);
      toUpstream.stop();
      toClient.stop();
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close);
    upstream.on('close', close);
    upstream.on('error', close);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  const cut = () => {
    const n = live.size;
    for (const s of [...live]) s.resetAndDestroy();
    live.clear();
    stats.cut += n;
    return n;
  };

  return {
    host: '127.0.0.1',
    port,
    stats,
    get open() {
      return live.size;
    },
    refuse() {
      refusing = true;
    },
    cut,
    latency(ms: number) {
      delayMs = Math.max(0, ms);
    },
    down() {
      refusing = true;
      return cut();
    },
    heal() {
      refusing = false;
      delayMs = 0;
    },
    async close() {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An HTTP server speaking the Upstash REST protocol over a real redis-server, so the real
 * `@upstash/redis` client and `@upstash/ratelimit` run unchanged in tests.
 *
 * Protocol (as the client uses it): `POST /` with one command as a JSON array → `{result}`, or a
 * non-2xx `{error}`; `POST /pipeline` and `POST /multi-exec` with an array of commands → 200 and an
 * array of `{result}` / `{error}`; `Authorization: Bearer TOKEN` or 401. With `Upstash-Encoding:
 * base64` (the client's default) every string in a result is base64, nested ones too, except a
 * top-level `OK`; numbers and null stay as they are. `POST /subscribe/CHANNEL` with `Accept:
 * text/event-stream` subscribes (a Redis SUBSCRIBE on a connection of its own) and streams
 * `data: subscribe,CHANNEL,1`, then `data: message,CHANNEL,TEXT` per message, as Upstash does.
 *
 * It can be stopped and started again on the same port, so a test can take "Redis" away from the
 * code under test and give it back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient, MultiErrorReply } from 'redis';

export interface UpstashServerOptions {
  /** redis:// URL of the real server. */
  redisUrl: string;
  /** Bearer token clients must send; random when omitted. */
  token?: string;
  /** Loopback port to listen on; a free one when omitted. */
  port?: number;
  /**
   * How long an idle client connection is kept (ms). 1 s by default so tests exit promptly; the
   * benchmark passes a longer one, as Upstash's own server keeps connections.
   */
  keepAliveTimeoutMs?: number;
}

export interface UpstashServer {
  /** http://127.0.0.1:PORT, the value for UPSTASH_REDIS_REST_URL. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  /** TCP connections accepted so far (how well clients reuse them). */
  readonly connectionsAccepted: number;
  /** Requests answered so far. */
  readonly requestsServed: number;
  /** Listens again on the same port after stop(). */
  start(): Promise<void>;
  /** Stops answering (connections refused) while keeping the port and the Redis connection. */
  stop(): Promise<void>;
  /** Stops and disconnects from Redis for good. */
  close(): Promise<void>;
}

type Command = string[];
type Reply = unknown;

class RequestError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/**
 * Stock Redis 7.0 rejects the `allow-key-locking` shebang flag that @upstash/ratelimit scripts carry
 * (Upstash's own server accepts it). Returns the script without that flag, or undefined if it has none.
 */
export function withoutKeyLockingFlag(script: string): string | undefined {
  const match = /^#!lua flags=([^\n]*)/.exec(script);
  if (!match) return undefined;
  const flags = match[1]!.split(',').map((f) => f.trim());
  if (!flags.includes('allow-key-locking')) return undefined;
  const kept = flags.filter((f) => f !== 'allow-key-locking' && f !== '');
  const shebang = kept.length > 0 ? `#!lua flags=${kept.join(',')}` : '#!lua';
  return shebang + script.slice(match[0].length);
}

/** JSON numbers (and anything else not a string) become the strings Redis expects. */
function toCommand(value: unknown): Command {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RequestError(400, 'ERR a command must be a non-empty JSON array');
  }
  return value.map((arg) => (typeof arg === 'string' ? arg : JSON.stringify(arg)));
}

function encodeReply(reply: Reply, base64: boolean, topLevel: boolean): unknown {
  if (reply === null || reply === undefined) return null;
  if (typeof reply === 'number') return reply;
  if (typeof reply === 'bigint') return Number(reply);
  if (typeof reply === 'string') {
    if (!base64 || (topLevel && reply === 'OK')) return reply;
    return Buffer.from(reply, 'utf8').toString('base64');
  }
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString('base64') : reply.toString('utf8');
  if (reply instanceof Error) return encodeReply(reply.message, base64, false);
  if (Array.isArray(reply)) return reply.map((item) => encodeReply(item, base64, false));
  return reply;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new RequestError(400, 'ERR the request body is not JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the server (and connects to Redis); resolves once it accepts requests. */
export async function startUpstashServer(options: UpstashServerOptions): Promise<UpstashServer> {
  const token = options.token ?? randomBytes(16).toString('hex');
  // RESP2 explicitly: RESP3 maps would change the shape of HGETALL and friends.
  let connectedOnce = false;
  const redis = createClient({
    url: options.redisUrl,
    RESP: 2,
    disableOfflineQueue: true,
    socket: {
      connectTimeout: 3000,
      // Fail the first connect() at once (Redis is missing); after that, keep reconnecting.
      reconnectStrategy: (retries, cause) => (connectedOnce ? Math.min(50 * 2 ** retries, 1000) : cause),
    },
  });
  // Errors surface on the commands that hit them; without a listener they would crash the process.
  redis.on('error', () => {});
  await redis.connect();
  connectedOnce = true;
  redis.unref();

  /** SHA-1 of an original ratelimit script → SHA-1 of its rewritten form, learnt from EVAL/SCRIPT LOAD. */
  const rewrittenSha = new Map<string, string>();

  function rewrite(command: Command): Command {
    const name = command[0]!.toUpperCase();
    if ((name === 'EVAL' || name === 'EVAL_RO') && command[1] !== undefined) {
      const script = withoutKeyLockingFlag(command[1]);
      if (script === undefined) return command;
      rewrittenSha.set(sha1(command[1]), sha1(script));
      return [command[0]!, script, ...command.slice(2)];
    }
    if ((name === 'EVALSHA' || name === 'EVALSHA_RO') && command[1] !== undefined) {
      const sha = rewrittenSha.get(command[1].toLowerCase());
      return sha === undefined ? command : [command[0]!, sha, ...command.slice(2)];
    }
    if (name === 'SCRIPT' && command[1]?.toUpperCase() === 'LOAD' && command[2] !== undefined) {
      const script = withoutKeyLockingFlag(command[2]);
      if (script === undefined) return command;
      rewrittenSha.set(sha1(command[2]), sha1(script));
      return [command[0]!, command[1], script];
    }
    return command;
  }

  async function run(command: Command): Promise<Reply> {
    const reply = await redis.sendCommand(rewrite(command));
    // SCRIPT LOAD answers with the SHA-1 the caller computed for its own script.
    const name = command[0]!.toUpperCase();
    if (name === 'SCRIPT' && command[1]?.toUpperCase() === 'LOAD' && rewrittenSha.has(sha1(command[2]!))) {
      return sha1(command[2]!);
    }
    return reply;
  }

  async function runTransaction(commands: Command[]): Promise<Array<{ result: Reply } | { error: string }>> {
    const multi = redis.multi();
    for (const command of commands) multi.addCommand(rewrite(command));
    try {
      const replies = (await multi.exec()) as Reply[];
      return replies.map((result) => ({ result }));
    } catch (error) {
      if (!(error instanceof MultiErrorReply)) throw error;
      return (error.replies as Reply[]).map((reply) =>
        reply instanceof Error ? { error: reply.message } : { result: reply },
      );
    }
  }

  /** A subscription lasts as long as its HTTP response: a connection of its own, ended with it. */
  async function subscribe(channel: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const subscriber = redis.duplicate();
    subscriber.on('error', () => {});
    await subscriber.connect();
    const end = () => {
      if (subscriber.isOpen) subscriber.destroy();
    };
    req.on('close', end);
    res.on('close', end);
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    await subscriber.subscribe(channel, (message) => {
      res.write(`data: message,${channel},${message}\n\n`);
    });
    res.write(`data: subscribe,${channel},1\n\n`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, { error: 'Unauthorized' });
      return;
    }
    if (req.method !== 'POST') throw new RequestError(405, 'ERR only POST is supported');
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64';
    const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '') || '/';
    const body = await readJson(req);
    if (!redis.isReady) throw new RequestError(503, 'ERR Redis is unavailable');

    if (path.startsWith('/subscribe/')) {
      await subscribe(decodeURIComponent(path.slice('/subscribe/'.length)), req, res);
      return;
    }
    if (path === '/') {
      try {
        send(res, 200, { result: encodeReply(await run(toCommand(body)), base64, true) });
      } catch (error) {
        if (error instanceof RequestError) throw error;
        send(res, 400, { error: errorMessage(error) });
      }
      return;
    }
    if (path !== '/pipeline' && path !== '/multi-exec')
      throw new RequestError(404, `ERR unknown path ${path}`);
    if (!Array.isArray(body)) throw new RequestError(400, 'ERR expected an array of commands');
    const commands = body.map(toCommand);
    if (path === '/pipeline') {
      // Sent together on one connection, so Redis runs them in order; each fails on its own.
      const settled = await Promise.allSettled(commands.map(run));
      const results = settled.map((s) =>
        s.status === 'fulfilled'
          ? { result: encodeReply(s.value, base64, true) }
          : { error: errorMessage(s.reason) },
      );
      send(res, 200, results);
      return;
    }
    try {
      const results = await runTransaction(commands);
      send(
        res,
        200,
        results.map((r) => ('result' in r ? { result: encodeReply(r.result, base64, true) } : r)),
      );
    } catch (error) {
      // The transaction was refused as a whole (e.g. EXECABORT after an unknown command).
      send(res, 400, { error: errorMessage(error) });
    }
  }

  let server: Server | undefined;
  let port = options.port ?? 0;
  let connectionsAccepted = 0;
  let requestsServed = 0;

  async function start(): Promise<void> {
    if (server) return;
    const next = createServer((req, res) => {
      requestsServed++;
      handle(req, res).catch((error: unknown) => {
        const status = error instanceof RequestError ? error.status : 500;
        if (!res.headersSent) send(res, status, { error: errorMessage(error) });
        else res.destroy();
      });
    });
    // The client keeps connections alive; never let them hold a test process open.
    next.keepAliveTimeout = options.keepAliveTimeoutMs ?? 1000;
    next.on('connection', () => {
      connectionsAccepted++;
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    next.unref();
    port = (next.address() as AddressInfo).port;
    server = next;
  }

  async function stop(): Promise<void> {
    const current = server;
    if (!current) return;
    server = undefined;
    await new Promise<void>((resolve) => {
      current.close(() => resolve());
      current.closeAllConnections();
    });
  }

  async function close(): Promise<void> {
    await stop();
    if (redis.isOpen) redis.destroy();
  }

  await start();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    token,
    get port() {
      return port;
    },
    get connectionsAccepted() {
      return connectionsAccepted;
    },
    get requestsServed() {
      return requestsServed;
    },
    start,
    stop,
    close,
  };
}

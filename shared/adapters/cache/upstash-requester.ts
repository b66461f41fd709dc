/**
 * @upstash/redis's commands sent with undici's `request` (the keep-alive Agent of http-agent.ts)
 * instead of the global `fetch` its own HTTP client calls.
 *
 * Why: a GET through `fetch` builds a WHATWG Request, Headers and Response and reads the body through
 * a web stream: ~190–300 µs of CPU per call against ~50–60 µs with `request` on the same Agent
 * (8 concurrent GETs of a 1 KB value over the Upstash protocol and real Redis, alternating runs;
 * bench/RESULTS.md, 2026-12-07, helper E). On the API's miss path every Redis hit is one such call,
 * and its time is part of the tier's latency.
 *
 * The protocol is the client's own (pkg/http.ts of @upstash/redis 1.39): `POST {url}/{path…}` with the
 * command as JSON, the bearer token, the read-your-writes sync token sent and kept; a non-2xx answer
 * is an `UpstashError` with the server's message; a network failure is retried as configured. Values
 * travel as plain strings (responseEncoding false): this requester is only for clients configured so.
 * Streams (SUBSCRIBE with `onMessage`) and requests with an abort signal go to the client's own
 * HTTP client, unchanged.
 */
import { errors, type Requester, type UpstashRequest, type UpstashResponse } from '@upstash/redis';
import type { Dispatcher } from 'undici';
// The request API alone, not undici's index (the API loads this on its first request: cold start).
import request from 'undici/lib/api/api-request.js';

export interface UndiciRequesterOptions {
  url: string;
  token: string;
  /** The Agent the requests go through (http-agent.ts installs a keep-alive one). */
  dispatcher: Dispatcher;
  /** Retries after a network failure, and the wait before retry i (ms), as @upstash/redis's `retry`. */
  retry: { retries: number; backoff: (retryCount: number) => number };
  /** The client's own HTTP client: streams and abortable requests go there. */
  fallback: Requester;
}

export class UndiciRequester implements Requester {
  readonly readYourWrites = true;
  upstashSyncToken = '';
  private readonly origin: string;
  private readonly basePath: string;
  private readonly authorization: string;
  private readonly options: UndiciRequesterOptions;

  constructor(options: UndiciRequesterOptions) {
    this.options = options;
    const url = new URL(options.url);
    this.origin = url.origin;
    this.basePath = url.pathname.replace(/\/$/, '');
    this.authorization = `Bearer ${options.token}`;
  }

  async request<TResult = unknown>(req: UpstashRequest): Promise<UpstashResponse<TResult>> {
    if (req.onMessage || req.isStreaming || req.signal || req.headers?.Accept === 'text/event-stream') {
      return this.options.fallback.request<TResult>(req);
    }
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: this.authorization,
      ...req.headers,
    };
    if (this.upstashSyncToken) headers['upstash-sync-token'] = this.upstashSyncToken;
    const path =
      req.path && req.path.length > 0 ? `${this.basePath}/${req.path.join('/')}` : this.basePath || '/';
    const body = JSON.stringify(req.body);
    const { statusCode, headers: answered, text } = await this.send({ path, headers, body });
    const token = answered['upstash-sync-token'];
    if (typeof token === 'string') this.upstashSyncToken = token;
    let parsed: UpstashResponse<TResult>;
    try {
      parsed = JSON.parse(text) as UpstashResponse<TResult>;
    } catch (err) {
      throw new errors.UpstashJSONParseError(text, { cause: err });
    }
    if (statusCode < 200 || statusCode >= 300) {
      throw new errors.UpstashError(`${parsed.error}, command was: ${body}`);
    }
    return parsed;
  }

  /**
   * One POST, retried as configured when no answer came (as the client retries a failed `fetch`);
   * a failure while reading an answer is not retried (the command may have run).
   */
  private async send(o: { path: string; headers: Record<string, string>; body: string }) {
    const { retries, backoff } = this.options.retry;
    for (let attempt = 0; ; attempt++) {
      let res: Dispatcher.ResponseData;
      try {
        res = await request.call(this.options.dispatcher, {
          origin: this.origin,
          path: o.path,
          method: 'POST',
          headers: o.headers,
          body: o.body,
        });
      } catch (err) {
        if (attempt >= retries) throw err;
        await new Promise((resolve) => setTimeout(resolve, backoff(attempt)));
        continue;
      }
      return { statusCode: res.statusCode, headers: res.headers, text: await res.body.text() };
    }
  }
}

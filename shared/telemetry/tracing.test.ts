/**
 * Tracing on, with OpenTelemetry's in-memory exporter: spans nest, a throw marks its span, log lines
 * and published messages carry the current span, and an API request is a server span, child of the
 * caller's traceparent, whose request line names it. (Tracing off is covered by the request-log tests.)
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { Hono } from 'hono';
import { MemoryBus } from '../adapters/bus/memory.ts';
import { inMessageSpan } from '../adapters/bus/trace.ts';
import type { ApiEnv } from '../api/env.ts';
import { requestLog } from '../api/middleware/request-log/index.ts';
import { createLogger } from '../log.ts';
import { flushTracing, inSpan, startTracing, stopTracing, tracingEnabled } from './tracing.ts';

/** The in-memory exporter, counting the flushes it is asked for. */
class CountingExporter extends InMemorySpanExporter {
  flushes = 0;
  override forceFlush(): Promise<void> {
    this.flushes += 1;
    return super.forceFlush();
  }
}
const exporter = new CountingExporter();
const PROJECT = 'proj-1';

before(async () => {
  await startTracing({ mode: 'off', exporter, projectId: PROJECT, serviceName: 'test' });
});
after(async () => {
  await stopTracing();
});

async function finished() {
  await flushTracing();
  const spans = exporter.getFinishedSpans();
  exporter.reset();
  return spans;
}

test('spans nest, log lines inside carry the current span, a throw marks the span failed', async () => {
  assert.equal(tracingEnabled(), true);
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', sink: (l) => lines.push(JSON.parse(l)) });
  await assert.rejects(
    inSpan('outer', {}, async () => {
      log.info('in outer');
      await inSpan('inner', { attributes: { nodeId: 'n1', skipped: undefined } }, async () => {
        log.error('in inner', { err: new Error('boom') });
      });
      throw new Error('outer fails');
    }),
    /outer fails/,
  );
  log.info('outside');
  const [inner, outer] = await finished();
  assert.equal(inner?.name, 'inner');
  assert.equal(outer?.name, 'outer');
  assert.equal(inner!.spanContext().traceId, outer!.spanContext().traceId);
  assert.equal(inner!.parentSpanContext?.spanId, outer!.spanContext().spanId);
  assert.equal(outer!.parentSpanContext, undefined);
  assert.deepEqual(inner!.attributes, { nodeId: 'n1' });
  assert.equal(outer!.status.code, 2, 'ERROR');
  assert.equal(outer!.status.message, 'outer fails');
  const trace = `projects/${PROJECT}/traces/${outer!.spanContext().traceId}`;
  assert.equal(lines[0]!['logging.googleapis.com/trace'], trace);
  assert.equal(lines[0]!['logging.googleapis.com/spanId'], outer!.spanContext().spanId);
  assert.equal(lines[1]!['logging.googleapis.com/spanId'], inner!.spanContext().spanId);
  assert.match(String(lines[1]!.stack_trace), /^Error: boom\n {4}at /, 'Error Reporting reads stack_trace');
  assert.equal(lines[2]!['logging.googleapis.com/trace'], undefined);
});

test('a message published in a span carries it; its handler span is the child, in the same trace', async () => {
  const bus = new MemoryBus({ projectId: PROJECT });
  const seen: string[] = [];
  bus.subscribe('work', async (event) => {
    await inMessageSpan('aggregator', event, async () => {
      seen.push(event.data?.message.attributes?.traceparent ?? '');
    });
  });
  await inSpan('cycle.dispatch', { kind: 'consumer' }, async () => {
    await bus.publish('work', [
      { data: Buffer.from('{}'), attributes: { kind: 'node', runId: 'r1', nodeId: 'n1' } },
    ]);
  });
  await bus.drain();
  const spans = await finished();
  const dispatch = spans.find((s) => s.name === 'cycle.dispatch')!;
  const node = spans.find((s) => s.name === 'cycle.node-batch')!;
  assert.equal(seen[0], `00-${dispatch.spanContext().traceId}-${dispatch.spanContext().spanId}-01`);
  assert.equal(node.spanContext().traceId, dispatch.spanContext().traceId);
  assert.equal(node.parentSpanContext?.spanId, dispatch.spanContext().spanId);
  assert.equal(node.attributes.runId, 'r1');
  assert.equal(node.attributes.nodeId, 'n1');
});

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const caller = '00f067aa0ba902b7';

/** An app with the request log, its lines parsed into `lines`. */
function loggedApp(lines: Record<string, unknown>[]) {
  const app = new Hono<ApiEnv>();
  app.use(
    '*',
    requestLog({ logger: createLogger({ sink: () => {} }), sink: (l) => lines.push(JSON.parse(l)) }),
  );
  return app;
}

test("an API request with the caller's traceparent: a server span, child of it, named on its line", async () => {
  const lines: Record<string, unknown>[] = [];
  const app = loggedApp(lines);
  app.get('/api/v1/nodes/:id', (c) => c.json({ id: c.req.param('id') }));
  const res = await app.request('/api/v1/nodes/n1?range=24h', {
    headers: { traceparent: `00-${traceId}-${caller}-01`, 'user-agent': 'probe/1.0' },
  });
  assert.equal(res.status, 200);
  const [span] = await finished();
  assert.equal(span!.name, 'GET /api/v1/nodes/:id');
  assert.equal(span!.kind, 1, 'SERVER');
  assert.equal(span!.spanContext().traceId, traceId);
  assert.equal(span!.parentSpanContext?.spanId, caller);
  assert.equal(span!.attributes['http.response.status_code'], 200);
  const line = lines[0]!;
  assert.equal(line.event, 'api.request');
  assert.equal(line['logging.googleapis.com/trace'], `projects/${PROJECT}/traces/${traceId}`);
  assert.equal(line['logging.googleapis.com/spanId'], span!.spanContext().spanId);
  assert.equal(line['logging.googleapis.com/trace_sampled'], true);
  const http = line.httpRequest as Record<string, unknown>;
  assert.equal(http.requestMethod, 'GET');
  assert.equal(http.requestUrl, 'http://localhost/api/v1/nodes/n1?range=24h');
  assert.equal(http.status, 200);
  assert.equal(http.userAgent, 'probe/1.0');
  assert.match(String(http.latency), /^\d+\.\d{5}s$/);
});

test("a caller's unsampled trace: no span is made, the request's line joins the caller's trace and span", async () => {
  const lines: Record<string, unknown>[] = [];
  const app = loggedApp(lines);
  const inner: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'debug', sink: (l) => inner.push(JSON.parse(l)) });
  app.get('/api/v1/nodes/:id', async (c) => {
    // A span the request opens inside is not sampled either.
    await inSpan('inner', {}, async () => log.info('inside'));
    return c.json({ id: c.req.param('id') });
  });
  for (const headers of [
    { traceparent: `00-${traceId}-${caller}-00` } as Record<string, string>,
    { 'x-cloud-trace-context': `${traceId}/${BigInt(`0x${caller}`)};o=0` },
  ]) {
    assert.equal((await app.request('/api/v1/nodes/n1', { headers })).status, 200);
  }
  assert.deepEqual(await finished(), [], 'no span exported');
  assert.equal(lines.length, 2);
  for (const line of [...lines, ...inner]) {
    assert.equal(line['logging.googleapis.com/trace'], `projects/${PROJECT}/traces/${traceId}`);
    assert.equal(line['logging.googleapis.com/spanId'], caller);
    assert.equal(line['logging.googleapis.com/trace_sampled'], false);
  }
  assert.equal(inner.length, 2);
});

test('a throttled flush exports at most once per interval; an unthrottled one always', async () => {
  await flushTracing();
  const before = exporter.flushes;
  await flushTracing({ minIntervalMs: 60_000 });
  await flushTracing({ minIntervalMs: 60_000 });
  assert.equal(exporter.flushes, before, 'within the interval of the last export: skipped');
  await flushTracing();
  assert.equal(exporter.flushes, before + 1);
});

/**
 * One cycle is one trace: with tracing on (OpenTelemetry's in-memory exporter in place of Cloud
 * Trace's), the real dispatcher and aggregator functions on the Pub/Sub and Firestore emulators record
 * the dispatch, every node batch and the rollup in one trace — node batches children of the dispatch,
 * the rollup a child of the node batch that finished the run — and the functions' log lines carry
 * that trace and their own span.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import {
  createTestDatabase,
  deleteKeysWithPrefix,
  firestoreEmulatorHost,
  peerGate,
  pubsubEmulatorHost,
  type TestDatabase,
  uniquePrefix,
  uniqueProjectId,
  upstashPeer,
} from '../dev/peers/index.ts';
import { flushTracing, startTracing, stopTracing } from '../shared/telemetry/tracing.ts';
import { type CloudStack, startCloudStack, waitFor } from './lib/cloud-stack.ts';

describe('a cycle traced across Pub/Sub', await peerGate('postgres', 'redis', 'pubsub', 'firestore'), () => {
  let db: TestDatabase;
  let stack: CloudStack;
  const prefix = uniquePrefix();
  const projectId = uniqueProjectId();
  const exporter = new InMemorySpanExporter();
  const lines: Record<string, unknown>[] = [];
  const write = process.stdout.write.bind(process.stdout);

  before(async () => {
    // The functions log to stdout: keep their JSON lines, pass everything else (the test reporter) on.
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      if (text.startsWith('{"severity"')) {
        for (const l of text.split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        return true;
      }
      return write(chunk, ...rest);
    }) as typeof process.stdout.write;
    // Started before the functions are imported: their own start (TRACING=off here) keeps this one.
    await startTracing({ mode: 'off', exporter, projectId, serviceName: 'cycle' });
    db = await createTestDatabase();
    const upstash = upstashPeer();
    stack = await startCloudStack({
      projectId,
      env: {
        DATABASE_URL: db.url,
        PUBSUB_EMULATOR_HOST: pubsubEmulatorHost(),
        FIRESTORE_EMULATOR_HOST: firestoreEmulatorHost(),
        UPSTASH_REDIS_REST_URL: upstash.url,
        UPSTASH_REDIS_REST_TOKEN: upstash.token,
        REDIS_KEY_PREFIX: prefix,
        SIMULATOR_NODES: '6',
        SIMULATOR_SEED: '5',
        LOG_LEVEL: 'debug',
        TRACING: 'off',
      },
    });
  });

  after(async () => {
    process.stdout.write = write;
    await stack?.close();
    await db?.drop();
    await deleteKeysWithPrefix(prefix);
    await stopTracing();
  });

  test('dispatch → node batches → rollup share one trace, with parent links, and the logs name it', async () => {
    await stack.dispatch();
    const [run] = await waitFor('the run to finish', async () => {
      const r = await db.sql<{ status: string; nodes_total: number }[]>`select status, nodes_total from runs`;
      return r.length === 1 && r[0]!.status !== 'running' ? r : undefined;
    });
    assert.equal(run!.status, 'done');
    // The rollup's span ends after the run is marked done: wait for it, not for time.
    const spans = await waitFor('the rollup span', async () => {
      await flushTracing();
      const all = exporter.getFinishedSpans();
      return all.some((s) => s.name === 'cycle.rollup') ? all : undefined;
    });
    const dispatch = spans.filter((s) => s.name === 'cycle.dispatch');
    const nodes = spans.filter((s) => s.name === 'cycle.node-batch');
    const rollups = spans.filter((s) => s.name === 'cycle.rollup');
    assert.equal(dispatch.length, 1);
    assert.equal(rollups.length, 1);
    const traceId = dispatch[0]!.spanContext().traceId;
    const dispatchSpan = dispatch[0]!.spanContext().spanId;
    assert.equal(dispatch[0]!.parentSpanContext, undefined, 'the tick starts the trace');
    // A span per message; a multi-node message's span says how many node batches it carried.
    const carried = nodes.reduce((n, s) => n + Number(s.attributes.nodes ?? 1), 0);
    assert.ok(carried >= run!.nodes_total, `${carried} node batches in spans for ${run!.nodes_total} nodes`);
    for (const n of nodes) {
      assert.equal(n.spanContext().traceId, traceId);
      assert.equal(n.parentSpanContext?.spanId, dispatchSpan);
      assert.equal(n.kind, 4, 'CONSUMER');
      assert.equal(n.attributes['messaging.destination.name'], 'wnm-node-work');
    }
    const rollup = rollups[0]!;
    assert.equal(rollup.spanContext().traceId, traceId);
    const finisher = nodes.find((n) => n.spanContext().spanId === rollup.parentSpanContext?.spanId);
    assert.ok(finisher, 'the rollup is a child of the node batch that completed the run');

    const trace = `projects/${projectId}/traces/${traceId}`;
    const byEvent = (event: string) => lines.filter((l) => l.event === event);
    const nodeSpanIds = new Set(nodes.map((n) => n.spanContext().spanId));
    const aggregated = byEvent('node.aggregated');
    assert.equal(aggregated.length, carried);
    assert.equal(new Set(aggregated.map((l) => l.nodeId)).size, run!.nodes_total);
    for (const l of aggregated) {
      assert.equal(l['logging.googleapis.com/trace'], trace);
      assert.ok(nodeSpanIds.has(String(l['logging.googleapis.com/spanId'])));
    }
    const [started] = byEvent('run.started');
    assert.equal(started?.['logging.googleapis.com/trace'], trace);
    assert.equal(started?.['logging.googleapis.com/spanId'], dispatchSpan);
    const [rolled] = byEvent('rollup.finished');
    assert.equal(rolled?.['logging.googleapis.com/trace'], trace);
    assert.equal(rolled?.['logging.googleapis.com/spanId'], rollup.spanContext().spanId);
  });
});

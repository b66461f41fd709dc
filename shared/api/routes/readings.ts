/**
 * POST /readings: readings pushed in by sensors and gateways that cannot write to BigQuery
 * themselves. A batch (JSON or CSV, at most `ingestMaxRows` rows and `ingestMaxBytes` bytes,
 * `ingestBatchesPerMinute` per key) is validated row by row (batch.ts), its nodes checked against the
 * caller's tenant in one query, and the good rows written to the ReadingSink; the answer lists every
 * refused row with its field and reason. Retrying a batch is safe: rows carry insert ids (sink.ts).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { METRICS } from '../../domain/readings.ts';
import { requireRole } from '../auth/authenticate.ts';
import type { RouteDeps } from '../context.ts';
import {
  BatchFormatError,
  csvRecords,
  jsonRecords,
  type RowError,
  validateRecords,
} from '../ingest/batch.ts';
import { ApiProblem, RETRY_AFTER_SECONDS } from '../problem.ts';
import { newRouter } from '../router.ts';
import { errorResponses, forbiddenResponse, Problem, plainOk } from '../schemas.ts';

/** A reading stamped this far ahead of the ingestion clock is still accepted (sensor clocks drift). */
const MAX_AHEAD_MS = 5 * 60_000;

const ReadingRow = z
  .object({
    nodeId: z.string().openapi({ example: 'd01-inlet-1', description: 'Also `node_id`' }),
    ts: z.union([z.string(), z.number()]).openapi({
      example: '2026-03-02T10:05:00Z',
      description: 'ISO 8601 with a zone, or epoch s/ms (also `reading_time`)',
    }),
    ...Object.fromEntries(METRICS.map((m) => [m, z.number().nullable().optional()])),
  })
  .openapi('ReadingRow');

const RowErrorSchema = z
  .object({
    row: z
      .number()
      .int()
      .openapi({ description: 'Index of the row in the batch, from 0 (CSV: data lines after the header)' }),
    field: z.string().openapi({ description: 'The field at fault; empty for the row as a whole' }),
    reason: z.string(),
  })
  .openapi('ReadingRowError');

const IngestReport = z
  .object({
    received: z.number().int(),
    accepted: z.number().int(),
    rejected: z
      .number()
      .int()
      .openapi({ description: 'Rows refused; each is in `errors` (a row may have several)' }),
    errors: z.array(RowErrorSchema),
  })
  .openapi('IngestReport');

const route = createRoute({
  method: 'post',
  path: '/',
  operationId: 'ingestReadings',
  tags: ['readings'],
  summary: 'Push a batch of readings (operator)',
  description:
    'JSON (an array of rows, or `{"readings": [...]}`) or CSV with a header (`node_id,ts,flow,…`). Each row: a node of your tenant, a time ' +
    'within the cycle’s lateness horizon, at least one metric. Bad rows are listed in `errors` and never block good ones; ' +
    'a row repeating an earlier row’s node, metric and time is refused as a duplicate. Rows carry insert ids, so retrying a batch stores nothing twice. ' +
    'The next cycle reads the accepted rows. 200 when some row was accepted (or the batch was empty), 422 when every row was refused.',
  request: {
    body: {
      required: true,
      content: {
        'application/json': { schema: z.array(ReadingRow) },
        'text/csv': {
          schema: z
            .string()
            .openapi({ example: 'node_id,ts,flow,pressure\nd01-inlet-1,2026-03-02T10:05:00Z,12.5,3.1\n' }),
        },
      },
    },
  },
  responses: {
    200: plainOk('What was accepted, and each refused row with why', {
      'application/json': { schema: IngestReport },
    }),
    413: {
      description: 'The body is over the batch byte limit',
      content: { 'application/problem+json': { schema: Problem } },
    },
    415: {
      description: 'Neither JSON nor CSV',
      content: { 'application/problem+json': { schema: Problem } },
    },
    422: plainOk('Every row was refused: `errors` says why', {
      'application/json': { schema: IngestReport },
    }),
    ...errorResponses,
    ...forbiddenResponse,
  },
});

export function readingsRoutes(deps: RouteDeps) {
  const { stores, settings, limiter, readingSink } = deps;
  const app = newRouter();
  app.use('*', requireRole('operator'));
  // Declared for the document; the body is parsed here, row by row, not by a schema that fails it whole.
  app.openAPIRegistry.registerPath(route);
  app.post('/', async (c) => {
    c.header('Cache-Control', 'no-store');
    if (!readingSink) {
      throw new ApiProblem(
        503,
        'Service Unavailable',
        'Readings ingestion is not configured on this deployment.',
        {
          headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
        },
      );
    }
    const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json' && type !== 'text/csv') {
      throw new ApiProblem(415, 'Unsupported Media Type', 'Send readings as application/json or text/csv.');
    }
    const principal = c.get('principal');
    const batches = await limiter.limit(`ingest:${principal.keyId}`, settings.ingestBatchesPerMinute);
    if (!batches.allowed) {
      const seconds = Math.max(1, Math.ceil(batches.resetMs / 1000));
      throw new ApiProblem(
        429,
        'Too Many Requests',
        `A key may push ${settings.ingestBatchesPerMinute} batches of readings per minute; retry in ${seconds} s.`,
        { headers: { 'Retry-After': String(seconds) } },
      );
    }
    const text = await c.req.text();
    let parsed: ReturnType<typeof validateRecords>;
    try {
      const { records, errors } =
        type === 'text/csv' ? csvRecords(text) : { records: jsonRecords(text), errors: [] };
      parsed = validateRecords(
        records,
        {
          nowMs: readingSink.now(),
          maxAgeMs: settings.ingestMaxAgeMs,
          maxAheadMs: MAX_AHEAD_MS,
          maxRows: settings.ingestMaxRows,
        },
        errors,
      );
    } catch (err) {
      if (err instanceof BatchFormatError) throw new ApiProblem(400, 'Invalid request', err.message);
      throw err;
    }

    // Tenant isolation: a key pushes readings of its own tenant's nodes only (one query per batch).
    const tenantId = c.get('tenantId');
    const wanted = [...new Set(parsed.valid.map((v) => v.reading.nodeId))];
    const known = new Set(
      await deps.reader.breakers.postgres.execute(() => stores.registry.existingNodeIds(tenantId, wanted)),
    );
    const errors: RowError[] = [...parsed.errors];
    const toWrite = parsed.valid.filter((v) => {
      if (known.has(v.reading.nodeId)) return true;
      errors.push({ row: v.row, field: 'nodeId', reason: `no node ${v.reading.nodeId} in your tenant` });
      return false;
    });
    const result = await readingSink.write(toWrite.map((v) => v.reading)).catch((err: unknown) => {
      throw new ApiProblem(
        503,
        'Service Unavailable',
        'The readings could not be stored; retry the whole batch (insert ids make the retry safe).',
        { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) }, cause: err },
      );
    });
    for (const f of result.failed) errors.push({ row: toWrite[f.index]!.row, field: '', reason: f.reason });
    errors.sort((a, b) => a.row - b.row);
    const rejected = new Set(errors.map((e) => e.row)).size;
    const accepted = parsed.total - rejected;
    deps.logger.info('readings ingested', {
      event: 'api.readings_ingested',
      tenantId,
      keyId: principal.keyId,
      sink: readingSink.name,
      received: parsed.total,
      accepted,
      rejected,
    });
    const status = accepted === 0 && rejected > 0 ? 422 : 200;
    return c.json({ received: parsed.total, accepted, rejected, errors }, status);
  });
  return app;
}

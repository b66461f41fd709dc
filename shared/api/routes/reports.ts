/**
 * /reports: the daily and weekly KPI reports the rollup generates once per period, per district and
 * network-wide — listed newest first with keyset paging, and one report as JSON, CSV (a download) or a
 * printable HTML page (`?format=` or `Accept`).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { answerKeys } from '../../domain/keys.ts';
import type { RouteDeps } from '../context.ts';
import { decodeCursor, encodeCursor, nextLink } from '../paging.ts';
import { REPORT_HTML_CSP, reportCsv, reportHtml } from '../report-render.ts';
import { sendTiered } from '../respond.ts';
import { newRouter } from '../router.ts';
import { Cursor, errorResponses, Id, Limit, Page, RATE_LIMIT_HEADERS } from '../schemas.ts';

const ListedReport = z
  .object({
    id: z.string(),
    districtId: z.string().nullable().openapi({ description: 'null: the network' }),
    period: z.enum(['daily', 'weekly']),
    label: z.string().openapi({ description: 'The local day, or the Monday of the local week (YYYY-MM-DD)' }),
    periodStart: z.string(),
    periodEnd: z.string(),
    generatedAt: z
      .string()
      .openapi({ description: 'The end of the run that generated it (the data’s clock)' }),
  })
  .openapi('ListedReport');

const Report = ListedReport.extend({
  report: z.record(z.string(), z.unknown()).openapi({
    description:
      'volumes, nrwPercent, ili, minimumNightFlow (nights and the change against the period before), anomalies (opened, acknowledged, resolved, minutes to acknowledge), waterQuality (compliant hours), dataCompleteness, forecastAccuracy (live scores of the served forecasts)',
  }),
}).openapi('Report');

const listRoute = createRoute({
  method: 'get',
  path: '/',
  operationId: 'listReports',
  tags: ['reports'],
  summary: 'List KPI reports',
  description:
    'Daily or weekly reports, newest period first. `district=network` lists the network-wide ones; without `district`, all.',
  request: {
    query: z.object({
      period: z.enum(['daily', 'weekly']).default('daily'),
      district: Id('district', 'd01', 'A district id, or `network`', 'query').optional(),
      limit: Limit,
      cursor: Cursor,
    }),
  },
  responses: {
    200: {
      headers: RATE_LIMIT_HEADERS,
      description: 'A page of reports',
      content: { 'application/json': { schema: Page(ListedReport) } },
    },
    ...errorResponses,
  },
});

const getRoute = createRoute({
  method: 'get',
  path: '/{id}',
  operationId: 'getReport',
  tags: ['reports'],
  summary: 'One KPI report as JSON, CSV or printable HTML',
  request: {
    params: z.object({ id: Id('id', 'daily:district:d01:2026-07-19', 'A report id') }),
    query: z.object({
      format: z
        .enum(['json', 'csv', 'html'])
        .optional()
        .openapi({ description: 'Overrides the Accept header' }),
    }),
  },
  responses: {
    200: {
      headers: RATE_LIMIT_HEADERS,
      description: 'The report',
      content: {
        'application/json': { schema: Report },
        'text/csv': { schema: z.string().openapi({ example: 'section,metric,value\r\n…' }) },
        'text/html': { schema: z.string() },
      },
    },
    ...errorResponses,
  },
});

const iso = (ms: number) => new Date(ms).toISOString();

export function reportsRoutes(deps: RouteDeps) {
  const { stores, reader, maxAgeSeconds } = deps;
  const app = newRouter();

  app.openapi(listRoute, (c) => {
    const q = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const after = q.cursor ? decodeCursor(q.cursor, ['number', 'string'] as const) : null;
    const districtId = q.district === undefined ? undefined : q.district === 'network' ? null : q.district;
    return sendTiered(
      c,
      reader,
      {
        key: answerKeys.reportsPage(tenantId, { p: q.period, d: q.district ?? '', l: q.limit, a: after }),
        load: async () => {
          const rows = await stores.reports.list(tenantId, {
            period: q.period,
            districtId,
            limit: q.limit + 1,
            after,
          });
          const page = rows.slice(0, q.limit);
          const last = page[page.length - 1];
          const next = rows.length > q.limit && last ? encodeCursor([last.startMs, last.id]) : null;
          return {
            data: page.map((r) => ({
              id: r.id,
              districtId: r.districtId,
              period: r.period,
              label: r.label,
              periodStart: iso(r.startMs),
              periodEnd: iso(r.endMs),
              generatedAt: iso(r.generatedAtMs),
            })),
            next,
          };
        },
        headers: (v) => {
          const next = (v as { next: string | null }).next;
          return next ? { Link: nextLink(c, next) } : undefined;
        },
      },
      'No reports',
      { maxAgeSeconds },
    ) as never;
  });

  app.openapi(getRoute, (c) => {
    const { id } = c.req.valid('param');
    const { format: asked } = c.req.valid('query');
    const tenantId = c.get('tenantId');
    const accept = c.req.header('accept') ?? '';
    const format =
      asked ?? (accept.includes('text/csv') ? 'csv' : accept.includes('text/html') ? 'html' : 'json');
    const fileName = `report-${id.replace(/[^A-Za-z0-9.-]+/g, '_')}`;
    return sendTiered(
      c,
      reader,
      {
        key: answerKeys.report(tenantId, id, format),
        load: async () => {
          const r = await stores.reports.find(tenantId, id);
          if (!r) return null;
          return {
            id: r.id,
            districtId: r.districtId,
            period: r.period,
            label: r.label,
            periodStart: iso(r.startMs),
            periodEnd: iso(r.endMs),
            generatedAt: iso(r.generatedAtMs),
            report: r.body as Record<string, unknown>,
          };
        },
        ...(format === 'csv'
          ? {
              encode: (v: unknown) => reportCsv((v as { report: never }).report),
              headers: () => ({ 'Content-Disposition': `attachment; filename="${fileName}.csv"` }),
            }
          : format === 'html'
            ? {
                encode: (v: unknown) => reportHtml((v as { report: never }).report),
                headers: () => ({ 'content-security-policy': REPORT_HTML_CSP }),
              }
            : {}),
      },
      `No report ${id}`,
      {
        maxAgeSeconds,
        vary: 'Accept, Accept-Encoding',
        ...(format === 'csv'
          ? { contentType: 'text/csv; charset=utf-8' }
          : format === 'html'
            ? { contentType: 'text/html; charset=utf-8' }
            : {}),
      },
    ) as never;
  });

  return app;
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Body, loadTerraform, nested, resource, resourcesOfType } from './config.ts';

const config = await loadTerraform();

/** A JSON text with `${local.x}` replaced by x's value where that is a plain string. */
const expandLocals = (text: string) =>
  text.replace(/\$\{local\.([\w-]+)\}/g, (whole, name: string) => {
    const value = config.locals[name];
    return typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : whole;
  });

/** The conditions the issue asks alerts for, the policy that covers each, and the signal it must watch. */
const REQUIRED_ALERTS: Record<string, { policy: string; signal: RegExp[] }> = {
  'a run failed or ended partial': {
    policy: 'run_failed',
    signal: [/condition_matched_log/, /jsonPayload.event=\\"run.finished\\"/, /failed/, /partial/],
  },
  'data stale (no completed run for over an hour)': {
    policy: 'data_stale',
    signal: [/condition_absent/, /google_logging_metric\.run_finished\.name/, /stale_after_minutes \* 60/],
  },
  'dead-letter backlog above zero': {
    policy: 'dead_letter_backlog',
    signal: [
      /num_undelivered_messages/,
      /google_pubsub_subscription\.dead_letter_hold\.name/,
      /"threshold_value":0/,
    ],
  },
  'aggregator error rate': {
    policy: 'aggregator_errors',
    signal: [/request_count/, /function_service\[\\"aggregator\\"\]/, /denominator_filter/],
  },
  'API 5xx rate': {
    policy: 'api_5xx',
    signal: [/request_count/, /function_service\[\\"api\\"\]/, /5xx/, /denominator_filter/],
  },
  'API p95 latency over 500 ms': {
    policy: 'api_latency',
    signal: [/request_latencies/, /REDUCE_PERCENTILE_95/, /alert_thresholds\.api_p95_latency_ms/],
  },
  'a critical anomaly or suspected leak opened': {
    policy: 'critical_anomaly',
    signal: [/anomaly.opened/, /critical/, /leak/],
  },
  'Cloud SQL CPU near its limit': {
    policy: 'sql_cpu',
    signal: [/cloudsql.googleapis.com\/database\/cpu\/utilization/],
  },
  'Cloud SQL connections near their limit': {
    policy: 'sql_connections',
    signal: [/cloudsql.googleapis.com\/database\/postgresql\/num_backends/, /var\.sql_max_connections/],
  },
};

describe('alert policies', () => {
  for (const [condition, { policy, signal }] of Object.entries(REQUIRED_ALERTS)) {
    test(`${condition}: ${policy} watches it and documents what to do`, () => {
      const alert = resource(config, `google_monitoring_alert_policy.${policy}`);
      const conditions = expandLocals(JSON.stringify(alert.body.conditions));
      for (const pattern of signal) assert.match(conditions, pattern);
      assert.equal(alert.body.notification_channels, '${local.alert_channels}');

      const doc = nested(alert.body, 'documentation');
      assert.equal(doc.mime_type, 'text/markdown');
      assert.ok(String(doc.subject).length > 10);
      const content = String(doc.content);
      for (const heading of ['## What it means', '## First checks', '## How to recover']) {
        const section = content.split(heading)[1]?.split('\n## ')[0] ?? '';
        assert.ok(section.trim().length > 80, `${policy}: "${heading}" is missing or too thin`);
      }
    });
  }

  test('the p95 latency threshold defaults to 500 ms and staleness to an hour', () => {
    const type = String(config.variables.get('alert_thresholds')!.type);
    assert.match(type, /api_p95_latency_ms\s*=\s*optional\(number, 500\)/);
    assert.match(type, /stale_after_minutes\s*=\s*optional\(number, 60\)/);
  });

  test('log-match alerts limit their notifications, as Cloud Monitoring requires', () => {
    for (const alert of resourcesOfType(config, 'google_monitoring_alert_policy')) {
      if (!JSON.stringify(alert.body.conditions).includes('condition_matched_log')) continue;
      assert.ok(nested(alert.body, 'alert_strategy', 'notification_rate_limit').period, alert.name);
    }
  });
});

describe('log-based metrics', () => {
  const metrics = resourcesOfType(config, 'google_logging_metric');
  const filters = metrics.map((m) => String(m.body.filter)).join('\n');

  test('count the structured log events the code emits, by their event name', () => {
    const events = new Set([...filters.matchAll(/jsonPayload\.event=\\?"([\w.${}]+)\\?"/g)].map((m) => m[1]));
    const perRun = Object.values(config.locals.run_distributions as Record<string, Body>).map((d) => d.event);
    for (const e of [
      'run.finished',
      'node.failed',
      'message.dead_lettered',
      'anomaly.opened',
      'api.request',
    ]) {
      assert.ok(events.has(e) || perRun.includes(e), `no metric on ${e}`);
    }
  });

  test('extract the per-run figures and the API latency by tier', () => {
    const fields = Object.values(config.locals.run_distributions as Record<string, Body>).map((d) => d.field);
    for (const f of ['durationMs', 'bytesProcessed', 'nodesProcessed', 'nodesFailed'])
      assert.ok(fields.includes(f), f);
    const api = resource(config, 'google_logging_metric.api_request_latency');
    assert.equal(api.body.value_extractor, 'EXTRACT(jsonPayload.latencyMs)');
    assert.equal((api.body.label_extractors as Body).tier, 'EXTRACT(jsonPayload.tier)');
    const anomalies = resource(config, 'google_logging_metric.anomaly_opened');
    assert.deepEqual(anomalies.body.label_extractors, {
      anomaly_type: 'EXTRACT(jsonPayload.anomalyType)',
      severity: 'EXTRACT(jsonPayload.anomalySeverity)',
    });
  });
});

describe('dashboard', () => {
  test('charts cycle duration, nodes, bytes, API latency percentiles, cache tiers and anomalies', () => {
    const charts = String(JSON.stringify(config.locals.dashboard_charts));
    for (const title of [
      'Cycle duration',
      'Nodes per run',
      'BigQuery bytes processed',
      'API latency',
      'cache tier',
      'Open anomalies',
      'Anomalies opened',
    ]) {
      assert.ok(charts.includes(title), `no chart "${title}"`);
    }
    for (const q of ['p50', 'p95', 'p99']) assert.ok(charts.includes(q), `API latency lacks ${q}`);
    const dashboard = resource(config, 'google_monitoring_dashboard.overview');
    assert.match(String(dashboard.body.dashboard_json), /local\.dashboard_charts/);
  });
});

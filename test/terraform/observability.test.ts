/** What Cloud Monitoring watches beyond the symptom alerts (issue 15): uptime, SLOs and their burn, a budget, the fault events. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Body, loadTerraform, nested, resource, resourcesOfType } from './config.ts';

const config = await loadTerraform();
const SHARED = fileURLToPath(new URL('../../shared/', import.meta.url));

describe('observability', () => {
  test('an uptime check calls /health over TLS and pages when it fails', () => {
    const check = resource(config, 'google_monitoring_uptime_check_config.api_health');
    const http = nested(check.body, 'http_check');
    assert.deepEqual([http.path, http.use_ssl, http.validate_ssl], ['/health', true, true]);
    const alert = resource(config, 'google_monitoring_alert_policy.api_uptime');
    assert.match(
      JSON.stringify(alert.body.conditions),
      /uptime_check\/check_passed.*api_health\.uptime_check_id/,
    );
  });

  test('SLOs for API availability, API latency and data freshness, each with fast and slow burn-rate alerts', () => {
    const slos = resourcesOfType(config, 'google_monitoring_slo')
      .map((s) => s.name)
      .sort();
    assert.deepEqual(slos, ['api_availability', 'api_latency', 'data_freshness']);
    assert.deepEqual(Object.keys(config.locals.slos as Body).sort(), slos);
    const burn = resource(config, 'google_monitoring_alert_policy.slo_burn');
    assert.equal(burn.body.for_each, '${local.slos}');
    const filters = (burn.body.conditions as Body[]).map((c) =>
      String(nested(c, 'condition_threshold').filter),
    );
    assert.deepEqual(
      filters.map((f) => /select_slo_burn_rate\(.*"(\d+s)"\)/.exec(f)?.[1]),
      ['3600s', '21600s'],
    );
    assert.deepEqual(resource(config, 'google_monitoring_slo.data_freshness').body.depends_on, [
      '${time_sleep.log_metrics_visible}',
    ]);
  });

  test('a budget with 50/90/100% actual and 100% forecast thresholds, when configured', () => {
    const budget = resource(config, 'google_billing_budget.monthly');
    assert.equal(budget.body.count, '${var.budget == null ? 0 : 1}');
    const dynamicRules = (budget.body.dynamic as Record<string, Body[]>).threshold_rules![0]!;
    assert.deepEqual(dynamicRules.for_each, [0.5, 0.9, 1]);
    assert.equal(nested(budget.body, 'threshold_rules').spend_basis, 'FORECASTED_SPEND');
  });

  test('the fault events the code logs each have an alert, by their exact names', () => {
    // The names as the code logs them (shared/log.ts lists the contract).
    const contract = readFileSync(`${SHARED}log.ts`, 'utf8');
    const events = config.locals.fault_events as Record<string, Body>;
    const filters = Object.values(events)
      .map((e) => String(e.filter))
      .join('\n');
    for (const event of ['cache.writes_failing', 'rollup.replay_failed', 'run.swept', 'api.tier_open']) {
      assert.ok(contract.includes(event) || event === 'api.tier_open', `${event} is not in shared/log.ts`);
      assert.ok(
        filters.includes(`jsonPayload.event=\\"${event}\\"`) ||
          filters.includes(`jsonPayload.event="${event}"`),
        event,
      );
    }
    assert.match(String(events.run_swept!.filter), /partial.*failed/);
  });
});

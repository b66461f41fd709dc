import assert from 'node:assert/strict';
import { test } from 'node:test';
import { answerKeys } from './keys.ts';

test("the API's answer keys: tenant first, under api:, holding every parameter", () => {
  assert.equal(answerKeys.nodesPage('t1', 50, null), 't:t1:api:nodes:50:::');
  assert.equal(answerKeys.nodesPage('t1', 50, 'n9', 'tank', 'd01'), 't:t1:api:nodes:50:n9:tank:d01');
  assert.equal(
    answerKeys.history('t1', 'n1', '1h', null, 7200000, 'csv'),
    't:t1:api:history:n1:1h::7200000:csv',
  );
  assert.equal(answerKeys.quality('t1', 'd01', '24h'), 't:t1:api:quality:d01:24h');
  assert.equal(answerKeys.status('t1'), 't:t1:api:status');
  assert.equal(answerKeys.anomaly('t1', 'a1'), 't:t1:api:anomalies:one:a1');
  assert.equal(
    answerKeys.anomaliesPage('t1', [{ s: ['open'] }, 2, null]),
    't:t1:api:anomalies:list:[{"s":["open"]},2,null]',
  );
  assert.equal(answerKeys.efficiency('t1', 'month', undefined, 'd01'), 't:t1:api:efficiency:month::d01');
  assert.equal(answerKeys.predictions('t1', 'd01'), 't:t1:api:predictions:d01');
});

test('one prefix covers every anomaly answer of a tenant, and no other tenant', () => {
  const prefix = answerKeys.anomalies('t1');
  assert.ok(answerKeys.anomaly('t1', 'a1').startsWith(prefix));
  assert.ok(answerKeys.anomaliesPage('t1', []).startsWith(prefix));
  assert.ok(!answerKeys.anomaly('t10', 'a1').startsWith(prefix));
});

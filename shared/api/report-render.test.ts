import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { REPORT_HTML_CSP, reportCsv, reportHtml } from './report-render.ts';

const body = {
  period: 'daily',
  label: '2026-05-24',
  districtId: 'd<01>"&',
  volumes: { systemInputM3: 1234.5, note: 'a, "quoted"\nline' },
  nights: [{ date: '2026-05-24', mnfLps: 3.2 }],
  evil: { text: '<script>alert(1)</script>' },
};

test('HTML escapes every value and carries no script; its one stylesheet is allowed by hash', () => {
  const html = reportHtml(body);
  assert.doesNotMatch(html, /<script/i);
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /district d&lt;01&gt;&quot;&amp;/);
  const style = /<style>(.*)<\/style>/.exec(html)?.[1] ?? '';
  assert.ok(REPORT_HTML_CSP.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`));
});

test('CSV: one row per figure, quoted where needed', () => {
  const csv = reportCsv(body);
  const lines = csv.split('\r\n');
  assert.equal(lines[0], 'section,metric,value');
  assert.ok(lines.includes('volumes,systemInputM3,1234.5'));
  assert.ok(csv.includes('volumes,note,"a, ""quoted""\nline"'));
  assert.ok(lines.includes('nights,[0].mnfLps,3.2'));
  assert.ok(lines.includes('report,label,2026-05-24'));
});

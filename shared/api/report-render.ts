/**
 * A stored KPI report as CSV (`section,metric,value`, one row per figure) and as a printable HTML page:
 * every value escaped, no script, one stylesheet allowed by its hash in the page's Content-Security-Policy.
 */
import { createHash } from 'node:crypto';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Every leaf of the report as [section, metric, value]; arrays of nights become one row per night. */
export function reportRows(body: Record<string, Json>): [string, string, string][] {
  const rows: [string, string, string][] = [];
  const walk = (section: string, path: string, v: Json) => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(section, path ? `${path}.${k}` : k, x);
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => {
        walk(section, `${path}[${i}]`, x);
      });
    } else {
      rows.push([section, path, v === null ? '' : String(v)]);
    }
  };
  for (const [k, v] of Object.entries(body)) {
    if (v !== null && typeof v === 'object') walk(k, '', v);
    else rows.push(['report', k, v === null ? '' : String(v)]);
  }
  return rows;
}

const csvCell = (s: string) => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

export function reportCsv(body: Record<string, Json>): string {
  const lines = ['section,metric,value', ...reportRows(body).map((r) => r.map(csvCell).join(','))];
  return `${lines.join('\r\n')}\r\n`;
}

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const STYLE =
  'body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111}h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.5rem}' +
  'table{border-collapse:collapse;min-width:24rem}td,th{border:1px solid #bbb;padding:.25rem .6rem;text-align:left}' +
  'td.v{text-align:right;font-variant-numeric:tabular-nums}@media print{body{margin:0}h2{break-after:avoid}}';

/** The page's Content-Security-Policy: nothing but its own stylesheet. */
export const REPORT_HTML_CSP = `default-src 'none'; style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'; frame-ancestors 'none'`;

export function reportHtml(body: Record<string, Json>): string {
  const title = `${body.period === 'weekly' ? 'Weekly' : 'Daily'} KPI report — ${
    body.districtId === null ? 'network' : `district ${String(body.districtId)}`
  } — ${String(body.label)}`;
  const sections = new Map<string, [string, string][]>();
  for (const [section, metric, value] of reportRows(body)) {
    const list = sections.get(section) ?? [];
    list.push([metric, value]);
    sections.set(section, list);
  }
  const parts = [...sections].map(
    ([section, rows]) =>
      `<h2>${escapeHtml(section)}</h2><table><tbody>${rows
        .map(([m, v]) => `<tr><th scope="row">${escapeHtml(m)}</th><td class="v">${escapeHtml(v)}</td></tr>`)
        .join('')}</tbody></table>`,
  );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>${parts.join('')}</body></html>`;
}

/**
 * Array parameters sent as one text each (the statement casts it: `$2::text::float8[]`): postgres.js
 * serializes an array parameter element by element (a serializer call, two escaping regex replaces and
 * quotes around each); a node batch's upserts of partials and quality counters send some seventy arrays. Numbers need no
 * quoting: JavaScript's own text of each (what postgres.js sends too, NaN and ±Infinity included) is
 * what PostgreSQL's float8 and integer inputs parse, so the stored values are the same.
 */

/** `{1,2.5,NaN,NULL}`: an array literal of numbers, null as NULL. */
export function numberArray(xs: readonly (number | null)[]): string {
  let out = '{';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (i > 0) out += ',';
    out += x === null || x === undefined ? 'NULL' : String(x);
  }
  return `${out}}`;
}

/** `{"a","b\"c",NULL}`: an array literal of texts, each quoted and escaped, null as NULL. */
export function textArray(xs: readonly (string | null)[]): string {
  let out = '{';
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    if (i > 0) out += ',';
    out += x === null || x === undefined ? 'NULL' : `"${x.replace(/[\\"]/g, '\\$&')}"`;
  }
  return `${out}}`;
}

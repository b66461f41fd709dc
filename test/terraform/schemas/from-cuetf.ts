/**
 * Regenerates schema-supplement.json's google types from roman-mazur/cuetf (CUE generated from
 * `terraform providers schema -json` of hashicorp/google 7.42.0, the source of ../shared/data/terraform's
 * 7.42 file), for resource types that file does not cover:
 *
 *   node test/terraform/schemas/from-cuetf.ts CUETF_GIT_DIR COMMIT
 *
 * CUE keeps names, required-ness (`name!`) and min/max items, not optional vs computed: every
 * attribute is written optional with flags_unverified, as the 7.42 file does for new paths.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { BlockSchema } from '../schema-check.ts';

export const CUETF_TYPES = [
  'google_artifact_registry_repository',
  'google_artifact_registry_repository_iam_member',
  'google_billing_budget',
  'google_cloud_run_v2_job',
  'google_monitoring_custom_service',
  'google_monitoring_slo',
  'google_monitoring_uptime_check_config',
  'google_project_iam_custom_role',
  'google_storage_bucket_iam_member',
];

type Nested = NonNullable<BlockSchema['block_types']>[string];

/** The top-level `close({...})` body and each `#name` / `_#defs: "path"` definition body, by key. */
function definitions(text: string): Map<string, string[]> {
  const defs = new Map<string, string[]>();
  const lines = text.split('\n').filter((l) => !/^\s*\/\//.test(l) && l.trim() !== '');
  let current: string[] | undefined;
  let depth = 0;
  for (const line of lines) {
    const indent = /^\t*/.exec(line)![0].length;
    if (indent === 1 && depth === 0) {
      const root = /^\tclose\(\{/.test(line);
      const def = /^\t#(\w+): close\(\{/.exec(line);
      const nested = /^\t_#defs: "([^"]+)": close\(\{/.exec(line);
      if (root || def || nested) {
        const key = root ? '' : def ? `#${def[1]}` : nested ? nested[1]! : '';
        current = [];
        defs.set(key, current);
        depth = 1;
        continue;
      }
    }
    if (!current) continue;
    const opens = (line.match(/[({[]/g) ?? []).length;
    const closes = (line.match(/[)}\]]/g) ?? []).length;
    if (depth === 1) current.push(line.trim());
    depth += opens - closes;
    if (depth <= 0) {
      current.pop(); // the closing `})`
      current = undefined;
      depth = 0;
    }
  }
  return defs;
}

function block(defs: Map<string, string[]>, key: string): BlockSchema {
  const attributes: NonNullable<BlockSchema['attributes']> = {};
  const blockTypes: NonNullable<BlockSchema['block_types']> = {};
  for (const line of defs.get(key) ?? []) {
    const m = /^"?([\w-]+)"?([!?]):\s*(.*)$/.exec(line);
    if (!m) continue;
    const [, name, mark, value] = m as unknown as [string, string, string, string];
    const ref = /_#defs\."([^"]+)"|(#\w+)/.exec(value);
    if (ref) {
      const target = ref[1] ?? ref[2]!;
      const nested: Nested = {
        nesting_mode: value.startsWith('matchN') ? 'list' : 'single',
        block: block(defs, target),
      };
      const max = /list\.MaxItems\((\d+)\)/.exec(value);
      if (max) nested.max_items = Number(max[1]);
      if (value.includes('[_, ...]')) nested.min_items = 1;
      blockTypes[name] = nested;
    } else {
      attributes[name] =
        mark === '!' ? { required: true } : ({ optional: true, flags_unverified: true } as never);
    }
  }
  return { attributes, block_types: blockTypes };
}

export function schemaFromCue(text: string): BlockSchema {
  return block(definitions(text), '');
}

if (import.meta.main) {
  const [gitDir, commit] = process.argv.slice(2);
  if (!gitDir || !commit) throw new Error('usage: from-cuetf.ts CUETF_GIT_DIR COMMIT');
  const out = new URL('./schema-supplement.json', import.meta.url);
  const supplement = JSON.parse(readFileSync(out, 'utf8'));
  const google = supplement.provider_schemas['registry.terraform.io/hashicorp/google'];
  for (const type of CUETF_TYPES) {
    const cue = execFileSync(
      'git',
      ['--git-dir', gitDir, 'show', `${commit}:providers/google/res/${type}_gen.cue`],
      {
        encoding: 'utf8',
      },
    );
    google.resource_schemas[type] = { version: 0, block: schemaFromCue(cue) };
  }
  writeFileSync(out, `${JSON.stringify(supplement, null, 2)}\n`);
}

/**
 * Attribute paths of references, checked against the provider schemas: in
 * `google_cloudfunctions2_function.function[each.key].service_config[0].urll`, `service_config` must be
 * a block of that type, indexed because it is a list, and `urll` an attribute of it. `terraform
 * validate` does this; hcl2json's own reference lister drops everything after a dynamic index, so the
 * traversals are read from the expression text here.
 */
import type { Block, TerraformConfig } from './config.ts';
import { interpolations } from './config.ts';
import { type BlockSchema, type ProviderSchemas, providerOf } from './schema-check.ts';

type Step = { kind: 'name'; name: string } | { kind: 'index'; literal: boolean };

/** The bracket's content starting at text[i] === '[', and the index after its `]`. */
function bracket(text: string, i: number): [string, number] {
  let depth = 0;
  for (let j = i; j < text.length; j++) {
    if (text[j] === '[') depth++;
    else if (text[j] === ']' && --depth === 0) return [text.slice(i + 1, j), j + 1];
  }
  return [text.slice(i + 1), text.length];
}

interface Traversal {
  kind: 'resource' | 'data' | 'ephemeral';
  type: string;
  name: string;
  steps: Step[];
  text: string;
}

/** Every `TYPE.NAME...` / `data.TYPE.NAME...` traversal in an expression, with the steps after NAME. */
export function traversals(expression: string): Traversal[] {
  const found: Traversal[] = [];
  const start = /(?<![\w.\]"-])(data\.|ephemeral\.)?([a-z][a-z0-9-]*_[a-z0-9_]+)\.([A-Za-z_][\w-]*)/g;
  // String literals inside the expression are not traversals.
  const code = expression.replace(/"(?:[^"\\]|\\.)*"/g, (s) =>
    s.length > 2 && /^"\w+"$/.test(s) ? s : '""',
  );
  for (let m = start.exec(code); m; m = start.exec(code)) {
    let i = m.index + m[0].length;
    const steps: Step[] = [];
    for (;;) {
      if (code[i] === '[') {
        const [inner, next] = bracket(code, i);
        if (inner.trim() === '*') break; // a splat: the path goes on per element, unchecked
        steps.push({ kind: 'index', literal: /^\s*("\w[\w-]*"|\d+)\s*$/.test(inner) });
        i = next;
      } else if (code[i] === '.' && /[A-Za-z_]/.test(code[i + 1] ?? '')) {
        const name = /^[A-Za-z_][\w-]*/.exec(code.slice(i + 1))![0];
        steps.push({ kind: 'name', name });
        i += 1 + name.length;
      } else if (code[i] === '.' && code[i + 1] === '*') {
        break;
      } else break;
    }
    found.push({
      kind: m[1] === 'data.' ? 'data' : m[1] === 'ephemeral.' ? 'ephemeral' : 'resource',
      type: m[2]!,
      name: m[3]!,
      steps,
      text: code.slice(m.index, i),
    });
    start.lastIndex = i;
  }
  return found;
}

/** Walks the remaining steps into a cty type (JSON form); returns a problem or undefined. */
function walkType(type: unknown, steps: Step[], where: string): string | undefined {
  if (steps.length === 0 || type === undefined) return undefined;
  const [step, ...rest] = steps as [Step, ...Step[]];
  if (typeof type === 'string')
    return `${where}: ${type} has no ${step.kind === 'name' ? step.name : '[...]'}`;
  const [kind, inner] = type as [string, unknown];
  if (kind === 'list' || kind === 'set' || kind === 'map') {
    if (step.kind !== 'index') return `${where}: a ${kind}, index it before .${step.name}`;
    return walkType(inner, rest, `${where}[]`);
  }
  if (kind === 'object') {
    if (step.kind !== 'name') return undefined;
    const fields = inner as Record<string, unknown>;
    return step.name in fields
      ? walkType(fields[step.name], rest, `${where}.${step.name}`)
      : `${where}: no attribute ${step.name}`;
  }
  return undefined;
}

function walkBlock(block: BlockSchema, steps: Step[], where: string): string | undefined {
  if (steps.length === 0) return undefined;
  const [step, ...rest] = steps as [Step, ...Step[]];
  if (step.kind !== 'name') return `${where}: indexed, but it is not a list`;
  const attribute = block.attributes?.[step.name] as { type?: unknown } | undefined;
  if (attribute) return walkType(attribute.type, rest, `${where}.${step.name}`);
  const nested = block.block_types?.[step.name];
  if (!nested) return `${where}: no attribute or block ${step.name}`;
  if (nested.nesting_mode === 'single') return walkBlock(nested.block, rest, `${where}.${step.name}`);
  const [index, ...after] = rest;
  if (!index) return undefined; // the whole list
  if (index.kind !== 'index')
    return `${where}.${step.name}: a list of blocks, index it before .${index.name}`;
  return walkBlock(nested.block, after, `${where}.${step.name}[]`);
}

/** Problems with the attribute paths of every reference in the configuration ("where: problem"). */
export function badAttributePaths(config: TerraformConfig, schemas: ProviderSchemas): string[] {
  const declared = new Map<string, Block>();
  for (const b of [...config.resources, ...config.data, ...config.ephemeral]) {
    declared.set(`${b.kind}:${b.type}.${b.name}`, b);
  }
  const strings: { text: string; where: string }[] = [];
  const collect = (value: unknown, where: string) => {
    if (typeof value === 'string') strings.push({ text: value, where });
    else if (Array.isArray(value)) for (const v of value) collect(v, where);
    else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v, where);
  };
  for (const [file, parsed] of config.parsed) collect(parsed, file);

  // Each interpolation, and the templates nested in its string literals.
  const expressionsOf = (text: string): string[] =>
    interpolations(text).flatMap((e) => [e, ...(e.includes('${') ? expressionsOf(e) : [])]);

  const problems = new Set<string>();
  for (const { text, where } of strings) {
    for (const expression of expressionsOf(text)) {
      for (const t of traversals(expression)) {
        const target = declared.get(`${t.kind}:${t.type}.${t.name}`);
        if (!target) continue; // references.ts reports undeclared targets
        const provider = providerOf(schemas, t.type, target.body.provider);
        const table = {
          resource: provider?.resource_schemas,
          data: provider?.data_source_schemas,
          ephemeral: provider?.ephemeral_resource_schemas,
        }[t.kind];
        const schema = table?.[t.type]?.block;
        if (!schema) continue; // schema-check.ts reports uncovered types
        let steps = t.steps;
        if (target.body.count !== undefined || target.body.for_each !== undefined) {
          if (steps[0]?.kind !== 'index') continue; // the whole collection (for, depends_on, for_each)
          steps = steps.slice(1);
        }
        const problem = walkBlock(schema, steps, `${t.type}.${t.name}`);
        if (problem) problems.add(`${where}: ${t.text}: ${problem}`);
      }
    }
  }
  return [...problems].sort();
}

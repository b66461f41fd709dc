/**
 * Enum-like attributes: the provider schema says `string`, the provider (or the API behind it) accepts
 * a fixed list. schemas/enums.json keeps the lists for the attributes this project sets, per resource
 * type; every value the configuration can give such an attribute must be on its list: a literal, each
 * literal of a conditional, each value of a local map it is looked up in.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Body, interpolations, type TerraformConfig } from './config.ts';

export interface Enums {
  lists: Record<string, string[]>;
  attributes: Record<string, Record<string, string | string[]>>;
}

export const ENUMS_FILE = fileURLToPath(new URL('./schemas/enums.json', import.meta.url));

export const loadEnums = (): Enums => JSON.parse(readFileSync(ENUMS_FILE, 'utf8')) as Enums;

/** The string values an attribute can take, or undefined when they can't be known statically. */
export function possibleValues(config: TerraformConfig, value: unknown): string[] | undefined {
  if (typeof value !== 'string') return undefined;
  const [expression, ...more] = interpolations(value);
  if (expression === undefined) return [value];
  if (more.length > 0 || value !== `\${${expression}}`) return undefined; // a template: not an enum
  const local = /^\s*local\.([\w-]+)(\[[^\]]+\])?\s*$/.exec(expression);
  if (local) {
    const target = config.locals[local[1]!];
    if (typeof target === 'string') return [target];
    if (target && typeof target === 'object' && !Array.isArray(target)) {
      const values = Object.values(target as Body);
      return values.every((v) => typeof v === 'string') ? (values as string[]) : undefined;
    }
    return undefined;
  }
  // A conditional or a coalesce of literals (null aside): each literal is a possible value.
  if (/^[\s\w.?:"(),_-]*$/.test(expression) && /"/.test(expression)) {
    return [...expression.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  }
  return undefined;
}

/** Every value outside its list ("where: attribute = value (allowed: ...)"). */
export function badEnumValues(config: TerraformConfig, enums: Enums = loadEnums()): string[] {
  const problems: string[] = [];
  const walk = (body: unknown, rules: Record<string, string | string[]>, where: string) => {
    if (Array.isArray(body)) {
      for (const item of body) walk(item, rules, where);
      return;
    }
    if (!body || typeof body !== 'object') return;
    for (const [key, value] of Object.entries(body as Body)) {
      const rule = rules[key];
      if (rule !== undefined && (typeof value === 'string' || value === null)) {
        const allowed = typeof rule === 'string' ? enums.lists[rule] : rule;
        if (!allowed) throw new Error(`enums.json: no list ${rule}`);
        for (const v of possibleValues(config, value) ?? []) {
          if (!allowed.includes(v)) problems.push(`${where}.${key} = ${v} (allowed: ${allowed.join(', ')})`);
        }
        continue;
      }
      if (key === 'dynamic') {
        // { blockName: [{ for_each, content: [ body ] }] }
        for (const [name, generators] of Object.entries(value as Record<string, Body[]>)) {
          for (const g of generators) walk(g.content, rules, `${where}.${name}`);
        }
      } else if (Array.isArray(value)) {
        walk(value, rules, `${where}.${key}`); // nested blocks; a plain object is a map attribute
      }
    }
  };
  for (const block of config.resources) {
    const rules = enums.attributes[block.type];
    if (rules) walk(block.body, rules, `${block.file}: ${block.type}.${block.name}`);
  }
  return problems;
}

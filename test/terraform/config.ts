/**
 * The repo's Terraform configuration, parsed with @cdktf/hcl2json (HCL to JSON, expressions kept as
 * `${...}` strings) into one model the tests query: resources, data sources, variables, locals, outputs.
 * `terraform init` can't reach the provider registry here, so these tests do what `terraform validate`
 * would: schema-check.ts walks every block against the provider schemas, and the policy tests read the
 * model.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getReferencesInExpression, parse } from '@cdktf/hcl2json';

export const TERRAFORM_DIR = fileURLToPath(new URL('../../terraform/', import.meta.url));

export type Body = Record<string, unknown>;

export interface Block {
  kind: 'resource' | 'data' | 'ephemeral';
  type: string;
  name: string;
  body: Body;
  file: string;
}

export interface TerraformConfig {
  resources: Block[];
  data: Block[];
  /** Ephemeral resources: opened for one run, never stored in the state or a plan. */
  ephemeral: Block[];
  variables: Map<string, Body>;
  locals: Body;
  outputs: Map<string, Body>;
  checks: Map<string, Body>;
  providers: Map<string, Body>;
  terraform: Body[];
  /** Every parsed file, for walks over the whole text (e.g. all strings). */
  parsed: Map<string, Body>;
}

/** The block body hcl2json gives as a one-element array. */
function only(value: unknown, where: string): Body {
  if (!Array.isArray(value) || value.length !== 1) throw new Error(`${where}: expected one block`);
  return value[0] as Body;
}

export async function parseTerraformFiles(files: Record<string, string>): Promise<TerraformConfig> {
  const config: TerraformConfig = {
    resources: [],
    data: [],
    ephemeral: [],
    variables: new Map(),
    locals: {},
    outputs: new Map(),
    checks: new Map(),
    providers: new Map(),
    terraform: [],
    parsed: new Map(),
  };
  for (const [file, text] of Object.entries(files)) {
    const parsed = (await parse(file, text)) as Body;
    config.parsed.set(file, parsed);
    for (const kind of ['resource', 'data', 'ephemeral'] as const) {
      const into = { resource: config.resources, data: config.data, ephemeral: config.ephemeral }[kind];
      for (const [type, named] of Object.entries((parsed[kind] ?? {}) as Record<string, Body>)) {
        for (const [name, bodies] of Object.entries(named)) {
          const body = only(bodies, `${file}: ${kind} ${type}.${name}`);
          into.push({ kind, type, name, body, file });
        }
      }
    }
    const named = (key: string, into: Map<string, Body>) => {
      for (const [name, bodies] of Object.entries((parsed[key] ?? {}) as Record<string, unknown>)) {
        if (into.has(name)) throw new Error(`${file}: ${key} "${name}" declared twice`);
        into.set(name, only(bodies, `${file}: ${key} ${name}`));
      }
    };
    named('variable', config.variables);
    named('output', config.outputs);
    named('check', config.checks);
    for (const [name, bodies] of Object.entries((parsed.provider ?? {}) as Record<string, unknown>)) {
      config.providers.set(name, only(bodies, `${file}: provider ${name}`));
    }
    for (const block of (parsed.locals ?? []) as Body[]) {
      for (const [name, value] of Object.entries(block)) {
        if (name in config.locals) throw new Error(`${file}: local "${name}" declared twice`);
        config.locals[name] = value;
      }
    }
    config.terraform.push(...((parsed.terraform ?? []) as Body[]));
  }
  return config;
}

export function terraformFiles(dir = TERRAFORM_DIR): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    if (name.endsWith('.tf')) files[name] = readFileSync(join(dir, name), 'utf8');
  }
  return files;
}

export function loadTerraform(dir = TERRAFORM_DIR): Promise<TerraformConfig> {
  return parseTerraformFiles(terraformFiles(dir));
}

export function resource(config: TerraformConfig, address: string): Block {
  const [type, name] = address.split('.');
  const found = config.resources.find((r) => r.type === type && r.name === name);
  if (!found) throw new Error(`resource ${address} is not declared`);
  return found;
}

export function resourcesOfType(config: TerraformConfig, type: string): Block[] {
  return config.resources.filter((r) => r.type === type);
}

/** The single nested block `name` of a body (hcl2json gives nested blocks as arrays). */
export function nested(body: Body, ...path: string[]): Body {
  let current = body;
  for (const name of path) current = only(current[name], `block ${path.join('.')}`);
  return current;
}

/** The default of variable `name`, or undefined when it has none. */
export function defaultOf(config: TerraformConfig, name: string): unknown {
  const variable = config.variables.get(name);
  if (!variable) throw new Error(`variable ${name} is not declared`);
  return variable.default;
}

/** Resolves a literal, or a plain `${var.x}` to that variable's default. */
export function literalOrDefault(config: TerraformConfig, value: unknown): unknown {
  const match = typeof value === 'string' ? /^\$\{var\.([\w-]+)\}$/.exec(value) : null;
  return match ? defaultOf(config, match[1]!) : value;
}

/**
 * The expressions inside a string: each `${...}` interpolation, braces matched (nested templates and
 * object literals included). Template text around them is not an expression and is left out.
 */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  let i = text.indexOf('${');
  while (i !== -1) {
    if (text[i - 1] === '$') {
      i = text.indexOf('${', i + 2); // `$${` is an escaped, literal `${`
      continue;
    }
    let depth = 0;
    let j = i + 1;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    found.push(text.slice(i + 2, j));
    i = text.indexOf('${', j + 1);
  }
  return found;
}

/** References (var.x, local.y, type.name.attr...) in one interpolation, for-expression symbols excluded. */
export async function referencesIn(expression: string): Promise<string[]> {
  const refs = await getReferencesInExpression('expression.tf', `\${${expression}}`);
  return refs.map((r) => r.value);
}

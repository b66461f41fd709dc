/**
 * Resolves every reference in the configuration the way `terraform validate` would: var.x must be a
 * declared variable, local.y a local, type.name a resource (data.type.name a data source), each.* only
 * inside for_each, count.* only inside count, a dynamic block's iterator only inside its content; and an
 * indexed resource is referenced with an index of the right kind (and, where the keys are known
 * statically, an existing key).
 */
import { type Block, type Body, interpolations, referencesIn, type TerraformConfig } from './config.ts';

interface Scope {
  forEach: boolean;
  count: boolean;
  iterators: ReadonlySet<string>;
}

interface Expression {
  text: string;
  scope: Scope;
  where: string;
}

const NO_SCOPE: Scope = { forEach: false, count: false, iterators: new Set() };

function collect(value: unknown, scope: Scope, where: string, out: Expression[]): void {
  if (typeof value === 'string') {
    for (const text of interpolations(value)) out.push({ text, scope, where });
  } else if (Array.isArray(value)) {
    for (const item of value) collect(item, scope, where, out);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value as Body)) {
      if (key === 'ignore_changes') continue; // attribute names, not references
      if (key === 'provider' && typeof item === 'string') continue; // a provider (google-beta), not a resource
      if (key === 'dynamic') {
        for (const [name, generators] of Object.entries(item as Record<string, Body[]>)) {
          for (const generator of generators) {
            collect(generator.for_each, scope, `${where}.dynamic.${name}`, out);
            const iterator = typeof generator.iterator === 'string' ? generator.iterator : name;
            const inner = { ...scope, iterators: new Set([...scope.iterators, iterator]) };
            collect(generator.content, inner, `${where}.${name}`, out);
          }
        }
        continue;
      }
      collect(item, scope, `${where}.${key}`, out);
    }
  }
}

/** Top-level attribute names of an `object({...})` type expression. */
function objectTypeKeys(type: string): string[] | undefined {
  const inner = /^\$\{object\(\{([\s\S]*)\}\)\}$/.exec(type)?.[1];
  if (inner === undefined) return undefined;
  const keys: string[] = [];
  let depth = 0;
  for (const [i, ch] of [...inner].entries()) {
    if ('({['.includes(ch)) depth++;
    else if (')}]'.includes(ch)) depth--;
    else if (depth === 0 && /[A-Za-z_]/.test(ch) && (i === 0 || /[\s,]/.test(inner[i - 1]!))) {
      const name = /^[\w-]+(?=\s*=)/.exec(inner.slice(i))?.[0];
      if (name) keys.push(name);
    }
  }
  return keys;
}

/** The keys a for_each expression yields, when they can be known without evaluating it. */
export function staticKeys(config: TerraformConfig, forEach: unknown): string[] | undefined {
  if (typeof forEach !== 'string') return undefined;
  const local = /^\$\{local\.([\w-]+)\}$/.exec(forEach)?.[1];
  if (local !== undefined) {
    const value = config.locals[local];
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? Object.keys(value)
      : undefined;
  }
  const set = /^\$\{toset\(\[((?:\s*"[^"]*"\s*,?)*)\]\)\}$/.exec(forEach)?.[1];
  if (set !== undefined) return [...set.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
  const variable = /^\$\{var\.([\w-]+)\}$/.exec(forEach)?.[1];
  if (variable !== undefined) {
    const type = config.variables.get(variable)?.type;
    return typeof type === 'string' ? objectTypeKeys(type) : undefined;
  }
  const other = /^\$\{([a-z0-9]+_[\w-]+)\.([\w-]+)\}$/.exec(forEach);
  if (other) {
    const target = config.resources.find((r) => r.type === other[1] && r.name === other[2]);
    return target ? staticKeys(config, target.body.for_each) : undefined;
  }
  return undefined;
}

function checkIndex(
  config: TerraformConfig,
  target: Block,
  parts: string[],
  ref: string,
): string | undefined {
  if (parts.length < 3) return undefined; // the whole collection (depends_on, for_each, splat)
  const index = parts[2]!;
  const quoted = /^"(.*)"$/.exec(index)?.[1];
  if (target.body.count !== undefined) {
    return /^\d+$/.test(index) ? undefined : `${ref}: ${parts[0]}.${parts[1]} has count, index it with [n]`;
  }
  if (target.body.for_each !== undefined) {
    if (quoted === undefined) return `${ref}: ${parts[0]}.${parts[1]} has for_each, index it with a key`;
    const keys = staticKeys(config, target.body.for_each);
    return keys && !keys.includes(quoted)
      ? `${ref}: no instance "${quoted}" (keys: ${keys.join(', ')})`
      : undefined;
  }
  return /^\d+$/.test(index) || quoted !== undefined
    ? `${ref}: ${parts[0]}.${parts[1]} is not indexed`
    : undefined;
}

function resolve(config: TerraformConfig, ref: string, scope: Scope): string | undefined {
  const parts = ref.split('.');
  const [head, second] = parts;
  switch (head) {
    case 'var':
      return config.variables.has(second!) ? undefined : `${ref}: no variable ${second}`;
    case 'local':
      return second! in config.locals ? undefined : `${ref}: no local ${second}`;
    case 'each':
      return scope.forEach ? undefined : `${ref}: each is only defined under for_each`;
    case 'count':
      return scope.count ? undefined : `${ref}: count is only defined under count`;
    case 'path':
    case 'terraform':
    case 'self':
      return undefined;
    case 'data':
    case 'ephemeral': {
      const pool = head === 'data' ? config.data : config.ephemeral;
      const target = pool.find((d) => d.type === second && d.name === parts[2]);
      return target
        ? checkIndex(config, target, parts.slice(1), ref)
        : `${ref}: no ${head === 'data' ? 'data source' : 'ephemeral resource'} ${second}.${parts[2]}`;
    }
    default: {
      if (scope.iterators.has(head!)) return undefined;
      const target = config.resources.find((r) => r.type === head && r.name === second);
      return target ? checkIndex(config, target, parts, ref) : `${ref}: no resource ${head}.${second}`;
    }
  }
}

/** Every reference that doesn't resolve, as "where: problem"; empty when all resolve. */
export async function unresolvedReferences(config: TerraformConfig): Promise<string[]> {
  const expressions: Expression[] = [];
  for (const block of [...config.resources, ...config.data, ...config.ephemeral]) {
    const scope = { ...NO_SCOPE, forEach: 'for_each' in block.body, count: 'count' in block.body };
    const prefix = block.kind === 'resource' ? '' : `${block.kind}.`;
    collect(block.body, scope, `${prefix}${block.type}.${block.name}`, expressions);
  }
  for (const [name, body] of config.variables) {
    collect(body.validation, NO_SCOPE, `var.${name}.validation`, expressions);
  }
  collect(config.locals, NO_SCOPE, 'locals', expressions);
  for (const [name, body] of config.outputs) collect(body, NO_SCOPE, `output.${name}`, expressions);
  for (const [name, body] of config.checks) collect(body, NO_SCOPE, `check.${name}`, expressions);
  for (const [name, body] of config.providers) collect(body, NO_SCOPE, `provider.${name}`, expressions);

  const problems: string[] = [];
  for (const expression of expressions) {
    let refs: string[];
    try {
      refs = await referencesIn(expression.text);
    } catch (err) {
      problems.push(`${expression.where}: can't parse \${${expression.text}}: ${(err as Error).message}`);
      continue;
    }
    for (const ref of refs) {
      const problem = resolve(config, ref, expression.scope);
      if (problem) problems.push(`${expression.where}: ${problem}`);
    }
  }
  return problems;
}

/**
 * Checks parsed Terraform against provider schemas in the layout of `terraform providers schema -json`
 * (../shared/data/terraform, see its README): every attribute and nested block must exist, required
 * attributes and blocks must be present, and computed-only attributes must not be set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Body, TerraformConfig } from './config.ts';

export const SCHEMA_DIR = fileURLToPath(new URL('../../../shared/data/terraform/', import.meta.url));

interface AttributeSchema {
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
}

interface NestedBlockSchema {
  nesting_mode: 'single' | 'list' | 'set';
  min_items?: number;
  max_items?: number;
  block: BlockSchema;
}

export interface BlockSchema {
  attributes?: Record<string, AttributeSchema>;
  block_types?: Record<string, NestedBlockSchema>;
}

interface ProviderSchema {
  provider: { block: BlockSchema };
  resource_schemas?: Record<string, { block: BlockSchema }>;
  data_source_schemas?: Record<string, { block: BlockSchema }>;
  ephemeral_resource_schemas?: Record<string, { block: BlockSchema }>;
}

export interface ProviderSchemas {
  provider_schemas: Record<string, ProviderSchema>;
}

/** Meta-arguments Terraform handles itself; they are not in any provider's schema. */
const META_ARGUMENTS = new Set([
  'count',
  'for_each',
  'provider',
  'depends_on',
  'lifecycle',
  'provisioner',
  'connection',
]);

/**
 * Types and providers the shared schema files don't cover (google-beta's service identity, time_sleep,
 * Cloud Run jobs, SLOs, uptime checks, budgets...), kept with these tests; see its _meta for sources.
 */
export const SUPPLEMENT = fileURLToPath(new URL('./schemas/schema-supplement.json', import.meta.url));

export function loadProviderSchemas(file: string): ProviderSchemas {
  const path = `${SCHEMA_DIR}${file}`;
  if (!existsSync(path)) {
    throw new Error(
      `Provider schema ${path} is missing: the handbook's data folder (../shared beside the repo) is needed to check the HCL.`,
    );
  }
  const schemas = JSON.parse(readFileSync(path, 'utf8')) as ProviderSchemas;
  const supplement = JSON.parse(readFileSync(SUPPLEMENT, 'utf8')) as ProviderSchemas;
  for (const [name, extra] of Object.entries(supplement.provider_schemas)) {
    const base = schemas.provider_schemas[name];
    if (!base) {
      schemas.provider_schemas[name] = extra;
      continue;
    }
    for (const kind of ['resource_schemas', 'data_source_schemas', 'ephemeral_resource_schemas'] as const) {
      for (const [type, schema] of Object.entries(extra[kind] ?? {})) {
        if (base[kind]?.[type]) continue; // the shared file is exact where it has the type
        base[kind] = { ...base[kind], [type]: schema };
      }
    }
  }
  return schemas;
}

/**
 * The provider that owns a type: its name prefix (google_, random_, archive_, time_, upstash_), or the provider a
 * block names with the `provider` meta-argument (e.g. google-beta).
 */
export function providerOf(
  schemas: ProviderSchemas,
  typeOrName: string,
  provider?: unknown,
): ProviderSchema | undefined {
  const named = typeof provider === 'string' ? /^\$\{([\w-]+)(?:\.\w+)?\}$/.exec(provider)?.[1] : undefined;
  const prefix = named ?? typeOrName.split('_')[0];
  // hashicorp/<name>, or a partner provider in its own namespace (upstash/upstash).
  return (
    schemas.provider_schemas[`registry.terraform.io/hashicorp/${prefix}`] ??
    schemas.provider_schemas[`registry.terraform.io/${prefix}/${prefix}`]
  );
}

const isComputedOnly = (a: AttributeSchema) => a.computed === true && !a.optional && !a.required;

/** Walks one block body; appends "path: problem" lines to `problems`. */
function checkBody(body: Body, schema: BlockSchema, path: string, topLevel: boolean, problems: string[]) {
  const attributes = schema.attributes ?? {};
  const blockTypes = schema.block_types ?? {};
  const dynamicBlocks = (body.dynamic ?? {}) as Record<string, Body[]>;

  for (const [key, value] of Object.entries(body)) {
    if (topLevel && META_ARGUMENTS.has(key)) continue;
    if (key === 'dynamic') {
      for (const [blockName, generators] of Object.entries(dynamicBlocks)) {
        const nested = blockTypes[blockName];
        if (!nested) {
          problems.push(`${path}: unknown block ${blockName} (dynamic)`);
          continue;
        }
        for (const generator of generators) {
          for (const extra of Object.keys(generator)) {
            if (!['for_each', 'iterator', 'labels', 'content'].includes(extra)) {
              problems.push(`${path}.dynamic.${blockName}: unknown argument ${extra}`);
            }
          }
          for (const content of (generator.content ?? []) as Body[]) {
            checkBody(content, nested.block, `${path}.${blockName}`, false, problems);
          }
        }
      }
      continue;
    }
    const attribute = attributes[key];
    if (attribute) {
      if (isComputedOnly(attribute)) problems.push(`${path}: ${key} is computed-only and can't be set`);
      continue;
    }
    const nested = blockTypes[key];
    if (nested) {
      if (!Array.isArray(value)) {
        problems.push(`${path}: ${key} is a block, written as an attribute`);
        continue;
      }
      if (nested.max_items !== undefined && nested.max_items > 0 && value.length > nested.max_items) {
        problems.push(`${path}: at most ${nested.max_items} ${key} block(s), found ${value.length}`);
      }
      for (const element of value as Body[])
        checkBody(element, nested.block, `${path}.${key}`, false, problems);
      continue;
    }
    problems.push(`${path}: unknown ${key}`);
  }

  for (const [name, attribute] of Object.entries(attributes)) {
    if (attribute.required && !(name in body)) problems.push(`${path}: missing required ${name}`);
  }
  for (const [name, nested] of Object.entries(blockTypes)) {
    if ((nested.min_items ?? 0) > 0 && !(name in body) && !(name in dynamicBlocks)) {
      problems.push(`${path}: missing required block ${name}`);
    }
  }
}

/** Every problem found in resources, data sources and provider blocks; empty when all is well. */
export function checkAgainstSchemas(config: TerraformConfig, schemas: ProviderSchemas): string[] {
  const problems: string[] = [];
  for (const block of [...config.resources, ...config.data, ...config.ephemeral]) {
    const address = `${block.kind === 'resource' ? '' : `${block.kind}.`}${block.type}.${block.name}`;
    const provider = providerOf(schemas, block.type, block.body.provider);
    const table = {
      resource: provider?.resource_schemas,
      data: provider?.data_source_schemas,
      ephemeral: provider?.ephemeral_resource_schemas,
    }[block.kind];
    const schema = table?.[block.type];
    if (!schema) {
      problems.push(`${block.file}: ${address}: type not covered by the provider schemas`);
      continue;
    }
    checkBody(block.body, schema.block, `${block.file}: ${address}`, true, problems);
  }
  for (const [name, body] of config.providers) {
    const provider = providerOf(schemas, name);
    if (!provider) {
      problems.push(`provider ${name}: not covered by the provider schemas`);
      continue;
    }
    checkBody(body, provider.provider.block, `provider ${name}`, true, problems);
  }
  return problems;
}

/**
 * The NODE_OPTIONS a checkout's Terraform gives a function (terraform/variables.tf, `functions.<name>.node_options`'s
 * default): the benches run each checkout's bundle with the flags that checkout deploys, and `npm run build`
 * writes them into a compile-cached function's package.json (`config.nodeOptions`), so that gcp-build makes
 * V8's code cache under the same flags (heap-size flags change V8's cache tag: a cache made without them is
 * not used). Cloud Run starts the function in its source folder (/workspace), so a relative path in them
 * (the API's `--import ./preload.mjs`) is read from the bundle's folder: the benches start the framework there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `functions.<name>.node_options`'s default in `checkout`'s terraform/variables.tf ('' if it has none). */
export function terraformNodeOptions(checkout: string, name: string): string {
  const text = readFileSync(join(checkout, 'terraform', 'variables.tf'), 'utf8');
  const start = text.search(new RegExp(`^\\s*${name}\\s*=\\s*optional\\(object\\(\\{`, 'm'));
  if (start < 0) throw new Error(`${checkout}: no functions.${name} in terraform/variables.tf`);
  const block = text.slice(start, text.indexOf('}), {})', start));
  return /node_options\s*=\s*optional\(string,\s*"([^"]*)"\)/.exec(block)?.[1] ?? '';
}

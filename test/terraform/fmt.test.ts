import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { TERRAFORM_DIR } from './config.ts';

/** Runs the terraform CLI (only fmt: init and validate need the provider registry, unreachable here). */
function terraform(args: string[], input?: string) {
  const result = spawnSync('terraform', args, { cwd: TERRAFORM_DIR, input, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `terraform CLI not runnable (${result.error.message}); install Terraform >= 1.11 on the PATH`,
    );
  }
  return result;
}

test('terraform fmt -check -recursive finds nothing to reformat', () => {
  const result = terraform(['fmt', '-check', '-recursive', '-list=true', '.']);
  assert.equal(result.status, 0, `files to format: ${result.stdout}${result.stderr}`);
});

test('terraform.tfvars.example is formatted too (fmt skips .example files)', () => {
  const example = readFileSync(`${TERRAFORM_DIR}terraform.tfvars.example`, 'utf8');
  const result = terraform(['fmt', '-'], example);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout, example);
});

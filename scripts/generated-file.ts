/**
 * The end of a generator script (`npm run client:generate`, `npm run routes:manifest`): writes the
 * generated file, or with `--check` exits 1 when the committed file differs from what it generates.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export function writeOrCheck(file: string, text: string, command: string, what: string): void {
  if (process.argv.includes('--check')) {
    if (readFileSync(file, 'utf8') !== text) {
      console.error(`${file} is out of date: run ${command}`);
      process.exit(1);
    }
    console.log(`${what} is up to date`);
  } else {
    writeFileSync(file, text);
    console.log(`wrote ${file}`);
  }
}

/**
 * `npm test [-- options] [files]`: Node's test runner over every test file, with the real peers
 * started once by the global setup.
 *
 *   npm test                                   all of shared/, functions/, test/ and eval/
 *   npm test -- test/harness.test.ts           only the files (or globs) given
 *   npm test -- --test-name-pattern=upstash    runner options are passed through
 */
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const ALL_TESTS = ['shared/**/*.test.ts', 'functions/**/*.test.ts', 'test/**/*.test.ts', 'eval/**/*.test.ts'];

const args = process.argv.slice(2);
const options = args.filter((arg) => arg.startsWith('-'));
const files = args.filter((arg) => !arg.startsWith('-'));
const hasOption = (name: string) => options.some((o) => o === name || o.startsWith(`${name}=`));

const defaults = [
  ['--test-concurrency', '--test-concurrency=2'], // a 2-core machine
  ['--test-reporter', '--test-reporter=spec'], // its closing summary (ℹ tests, ℹ pass, ℹ fail) is what CI reads
  ['--test-timeout', '--test-timeout=120000'], // a hung test fails instead of stalling CI
] as const;

const runnerArgs = [
  '--test',
  '--test-global-setup=test/harness/global-setup.ts',
  ...defaults.filter(([name]) => !hasOption(name)).map(([, value]) => value),
  ...options,
  ...(files.length > 0 ? files : ALL_TESTS),
];

const child = spawn(process.execPath, runnerArgs, {
  cwd: fileURLToPath(new URL('..', import.meta.url)),
  stdio: 'inherit',
});

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => child.kill(signal));
}

child.on('exit', (code, signal) => {
  process.exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
});

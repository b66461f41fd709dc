/**
 * How `npm run deploy` runs its commands: each one printed as it would be typed (secrets masked), run
 * with its output captured, or — with --dry-run — only printed. Secrets never go on a command line:
 * they travel in the environment (TF_VAR_...) or on stdin.
 */
import { spawn } from 'node:child_process';

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  /** Extra environment; values of keys in `secret` are masked when printed. */
  env?: Record<string, string>;
  secret?: string[];
  /** Written to the command's stdin (never printed). */
  input?: string;
  /** A non-zero exit is an answer (e.g. "does not exist"), not a failure. */
  allowFail?: boolean;
  /** The answer --dry-run assumes (default: the command fails, i.e. nothing exists yet). */
  dryRun?: Partial<Result>;
}

export class CommandFailed extends Error {
  readonly command: string;
  readonly result: Result;

  constructor(command: string, result: Result) {
    super(`\`${command}\` exited ${result.code}: ${(result.stderr || result.stdout).trim().slice(-2000)}`);
    this.name = 'CommandFailed';
    this.command = command;
    this.result = result;
  }
}

const quote = (arg: string) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`);

export function display(argv: string[], options: CommandOptions = {}): string {
  const env = Object.keys(options.env ?? {}).map((k) =>
    options.secret?.includes(k) ? `${k}=***` : `${k}=${quote(options.env![k]!)}`,
  );
  return [...env, ...argv.map(quote)].join(' ') + (options.input !== undefined ? ' < (stdin)' : '');
}

export interface Shell {
  dryRun: boolean;
  run(argv: string[], options?: CommandOptions): Promise<Result>;
  say(line: string): void;
}

export function createShell(options: {
  dryRun: boolean;
  cwd: string;
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
}): Shell {
  return {
    dryRun: options.dryRun,
    say: options.out,
    async run(argv, o = {}) {
      options.out(`  $ ${display(argv, o)}`);
      if (options.dryRun) return { code: 1, stdout: '', stderr: '', ...o.dryRun };
      const result = await new Promise<Result>((resolve, reject) => {
        const child = spawn(argv[0]!, argv.slice(1), {
          cwd: options.cwd,
          env: { ...options.env, ...o.env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => {
          stdout += d;
        });
        child.stderr.on('data', (d: Buffer) => {
          stderr += d;
        });
        child.on('error', reject);
        child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
        child.stdin.end(o.input ?? '');
      });
      if (result.code !== 0 && !o.allowFail) throw new CommandFailed(display(argv, o), result);
      return result;
    },
  };
}

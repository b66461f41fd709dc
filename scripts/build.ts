/**
 * `npm run build [-- name...]`: one deployable bundle per function.
 *
 * For every functions/<name>/index.ts, esbuild writes dist/functions/<name>/index.mjs: ESM for Node 24,
 * our own code (shared/) and the npm packages it uses inlined, except the few that must stay packages
 * (KEPT_EXTERNAL). Beside it go a package.json listing only the packages that bundle still imports (taken
 * from esbuild's metafile, at the versions the root lockfile installed) and a package-lock.json pruned
 * from the root one, so Cloud Build's `npm ci` installs exactly the tree the tests ran against. Terraform
 * zips each folder and deploys it (terraform/functions.tf). A package we patch (patches/, applied by
 * patch-package at install) is inlined from the root's node_modules, where the patch is applied.
 *
 * Why inlined (issue 14, bench:cold-start): Node's ESM loader resolves, reads and links every module
 * file on its own (package.json scope lookups, stats): the API's import loaded about 350 of them, which
 * cost more of its cold start than running them. One bundle file (and a few lazy chunks) is one load.
 * Why `.mjs`: the functions framework decides whether the entry is an ES module by the extension first;
 * for `.js` it imports read-package-up (normalize-package-data, spdx-*: about 40 modules) to read the
 * "type" of package.json. Cloud Run functions start the file package.json's "main" names.
 * Longer than 400 lines because it is one pipeline (bundle, manifest, pruned lockfile, notices) whose
 * steps are exported one by one for their tests.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { buildConsole } from '../console/build.ts';
import { terraformNodeOptions } from './deployed-node-options.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  dev?: boolean;
  devOptional?: boolean;
  optional?: boolean;
  [key: string]: unknown;
}

interface Lockfile {
  name: string;
  version: string;
  lockfileVersion: number;
  requires?: boolean;
  packages: Record<string, LockEntry>;
}

interface RootPackage {
  name: string;
  version: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/** The package.json written beside each bundle. */
export interface FunctionManifest {
  name: string;
  version: string;
  private: true;
  type: 'module';
  main: typeof ENTRY_FILE | typeof CACHED_START_FILE;
  /** `gcp-build`: Cloud Build runs it after `npm ci` (the compile cache of COMPILE_CACHED functions). */
  scripts?: Record<string, string>;
  /** The NODE_OPTIONS Terraform deploys the function with, for gcp-build's cache (scripts/deployed-node-options.ts). */
  config?: { nodeOptions: string };
  engines: { node: string };
  dependencies: Record<string, string>;
}

export interface BuildOptions {
  /** Where package.json and package-lock.json are (the repo root). */
  root?: string;
  /** Folder holding one sub-folder per function with an index.ts (default: ROOT/functions). */
  functionsDir?: string;
  /** Output folder; each function goes to OUT/<name>/ (default: ROOT/dist/functions). */
  outDir?: string;
  /** Only these functions (default: every folder with an index.ts). */
  names?: string[];
}

export interface Bundle {
  name: string;
  dir: string;
  bytes: number;
  dependencies: Record<string, string>;
}

/** The file each bundle starts from (package.json's "main"). */
export const ENTRY_FILE = 'index.mjs';

/**
 * Functions deployed with V8's code cache of their bundle (issue 14, bench:cold-start): Cloud Build's
 * `npm run gcp-build` starts the function once in its folder and keeps Node's compile cache
 * (scripts/compile-cache/build-cache.mjs), and the function starts from CACHED_START_FILE, which turns
 * that cache on before importing the bundle (scripts/compile-cache/start.mjs says when it is used).
 */
export const COMPILE_CACHED: readonly string[] = ['api'];
export const CACHED_START_FILE = 'start.mjs';
const COMPILE_CACHE_FILES = {
  'scripts/compile-cache/start.mjs': CACHED_START_FILE,
  'scripts/compile-cache/build-cache.mjs': 'build-cache.mjs',
};

/** The npm package an import specifier names, or undefined for Node built-ins. */
export function packageNameOf(specifier: string): string | undefined {
  if (isBuiltin(specifier)) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/**
 * Files a bundle reads at run time besides its code, copied next to it: the API serves the Scalar
 * reference's single-file browser bundle at /docs/scalar.js (shared/api/docs.ts looks beside
 * itself first), so the 54 MB @scalar/api-reference package stays out of the deployment.
 */
const FUNCTION_ASSETS: Record<string, Record<string, string>> = {
  api: { 'node_modules/@scalar/api-reference/dist/browser/standalone.js': 'scalar-standalone.js' },
};

/** Packages with a patch in patches/ (`name+version.patch`, `@scope+name+version.patch`). */
export function patchedPackages(root: string): string[] {
  let files: string[];
  try {
    files = readdirSync(join(root, 'patches'));
  } catch {
    return [];
  }
  return files
    .filter((f) => f.endsWith('.patch'))
    .map((f) => {
      const parts = f.slice(0, -'.patch'.length).split('+');
      return f.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
    });
}

/**
 * npm packages that stay imports (installed by the function's own `npm ci`), everything else is inlined:
 * - the functions framework: its entry (main.js, what Cloud Run runs) and the function must share one
 *   registry of functions, so the bundle imports the installed framework, never a copy of it;
 * - Google's clients, which no function needs to answer its first request (they load behind import():
 *   the BigQuery sink's first write, the Cloud Trace exporter's first export): google-gax reads its protos
 *   from files beside it.
 * OpenTelemetry is inlined (issue 14, bench:cold-start with TRACING=cloud, the deployed default: loading
 * its ~140 module files from node_modules cost the aggregator about 120 ms of CPU at start, and took its
 * cold start over 250 ms). Its API's globals (tracer provider, context manager, propagator) live on
 * `globalThis[Symbol.for('opentelemetry.js.api.1')]`, shared by every copy of API 1.x, so the inlined copy
 * and the one Google's clients load from node_modules (Pub/Sub even its own, nested, as before) still
 * see one registration; and our SDK registers none (otel.ts uses its provider directly).
 */
export const KEPT_EXTERNAL: readonly (string | RegExp)[] = [
  '@google-cloud/functions-framework',
  /^@google-cloud\//,
  'google-auth-library',
];

export function keptExternal(name: string): boolean {
  return KEPT_EXTERNAL.some((rule) => (typeof rule === 'string' ? rule === name : rule.test(name)));
}

/** Leaves the KEPT_EXTERNAL packages as imports (never a patched one, which is inlined as patched). */
function externalPackages(patched: string[]): Plugin {
  const inline = new Set(patched);
  return {
    name: 'external-packages',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        const name = packageNameOf(args.path);
        if (!name || inline.has(name) || !keptExternal(name)) return undefined;
        return { path: args.path, external: true };
      });
    },
  };
}

/**
 * Inlined CommonJS packages call `require` for Node built-ins; in an ES module there is none unless the
 * module makes one (esbuild's own shim would throw "Dynamic require of … is not supported").
 */
const REQUIRE_BANNER =
  "import { createRequire as __wnmCreateRequire } from 'node:module';\nconst require = __wnmCreateRequire(import.meta.url);";

/**
 * Packages our own code imports (inlined or not): each must be a dependency of the root package.json,
 * never a devDependency, whether the bundle carries it or the function installs it.
 */
export function directPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const [input, { imports }] of Object.entries(metafile.inputs)) {
    if (input.includes('node_modules/')) continue;
    for (const imported of imports) {
      const specifier = imported.original ?? imported.path;
      if (/^[./]/.test(specifier) || specifier.startsWith('node:')) continue;
      const name = packageNameOf(specifier);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/**
 * The installed folders (relative to the root, e.g. `node_modules/hono`) of the npm packages whose code the
 * bundle carries: every metafile input under a node_modules folder, taken up to its package's name.
 */
export function inlinedPackageDirs(metafile: Metafile): string[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf('node_modules/');
    if (at === -1) continue;
    const name = packageNameOf(input.slice(at + 'node_modules/'.length));
    if (name) dirs.add(`${input.slice(0, at)}node_modules/${name}`);
  }
  return [...dirs].sort();
}

/**
 * The notices of the packages a bundle carries (name, version, license and its LICENSE file's text):
 * inlining copies their code into our archive, and their licenses (MIT, ISC, Apache-2.0, BSD) ask that
 * the notice travel with the copy. esbuild's legal comments hold only the few marked `@license`.
 */
export function thirdPartyNotices(root: string, dirs: string[]): string {
  const sections: string[] = [];
  for (const dir of dirs) {
    const abs = join(root, dir);
    const pkg = JSON.parse(readFileSync(join(abs, 'package.json'), 'utf8')) as {
      name?: string;
      version?: string;
      license?: string;
    };
    const licenseFile = readdirSync(abs).find((f) => /^(licen[cs]e|copying|notice)(\.|$)/i.test(f));
    const text = licenseFile
      ? readFileSync(join(abs, licenseFile), 'utf8').trim()
      : '(no license file in the package)';
    sections.push(`${pkg.name}@${pkg.version} — ${pkg.license ?? 'license not stated'}\n\n${text}`);
  }
  return `${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`;
}

/** Packages the bundle imports at run time (external imports in esbuild's metafile). */
export function importedPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external) continue;
      const name = packageNameOf(imported.path);
      if (name) names.add(name);
    }
  }
  return [...names].sort();
}

/** Resolves `dependency` from the package installed at `from` the way Node does (nearest node_modules). */
function resolveInLock(lock: Lockfile, from: string, dependency: string): string | undefined {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${dependency}`;
    if (lock.packages[candidate]) return candidate;
    if (!base) return undefined;
    const parent = base.lastIndexOf('/node_modules/');
    base = parent === -1 ? '' : base.slice(0, parent);
  }
}

/** The version every dependency of every installed package resolves to, keyed by `path → dependency`. */
function resolvedVersions(
  packages: Record<string, LockEntry>,
  rename: (path: string) => string,
): Map<string, string> {
  const lock = { packages } as Lockfile;
  const versions = new Map<string, string>();
  for (const [path, entry] of Object.entries(packages)) {
    const deps = { ...entry.peerDependencies, ...entry.optionalDependencies, ...entry.dependencies };
    for (const dep of Object.keys(deps)) {
      const at = resolveInLock(lock, path, dep);
      const edge = `${rename(path)} → ${dep}`;
      const version = at ? (packages[at]!.version ?? at) : 'missing';
      // Copies about to become one must agree on every dependency, or the move is refused.
      versions.set(edge, versions.has(edge) && versions.get(edge) !== version ? 'differs' : version);
    }
  }
  return versions;
}

/**
 * What `npm dedupe` does, on the pruned tree: a package installed nested at one version under several parents
 * (the root lockfile nests them because the dev tree's top holds another version: mime-types 2 for autocannon
 * there, so Express, accepts, send and type-is each got their own mime-types 3 and mime-db) moves to the top,
 * where the function's install has a free slot, as one copy. Only when every dependency of every package still
 * resolves to the version it did; repeated until nothing moves (a package's own dependencies move first).
 * Why (issue 14, bench:cold-start): Node loads each copy as a separate module; the API's first answer loaded
 * and initialised mime-types and mime-db's 200 KB database four times, before its first request.
 */
export function hoistDuplicates(packages: Record<string, LockEntry>): Record<string, LockEntry> {
  let current = packages;
  for (let moved = true; moved; ) {
    moved = false;
    const nested = new Map<string, string[]>();
    for (const path of Object.keys(current)) {
      const at = path.lastIndexOf('node_modules/');
      if (at <= 0) continue; // top-level (or the root)
      const name = path.slice(at + 'node_modules/'.length);
      nested.set(name, [...(nested.get(name) ?? []), path]);
    }
    for (const [name, copies] of [...nested].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const top = `node_modules/${name}`;
      if (current[top]) continue;
      if (new Set(copies.map((c) => current[c]!.version)).size !== 1) continue;
      // Copies with packages nested under them stay where they are.
      if (Object.keys(current).some((p) => copies.some((c) => p.startsWith(`${c}/`)))) continue;
      const candidate = Object.fromEntries(Object.entries(current).filter(([p]) => !copies.includes(p)));
      candidate[top] = current[copies[0]!]!;
      const before = resolvedVersions(current, (p) => (copies.includes(p) ? top : p));
      const after = resolvedVersions(candidate, (p) => p);
      if ([...before].every(([edge, version]) => after.get(edge) === version)) {
        current = candidate;
        moved = true;
      }
    }
  }
  return current;
}

/** The root lockfile reduced to what `dependencies` need, for a package.json listing just those. */
export function pruneLockfile(lock: Lockfile, manifest: FunctionManifest): Lockfile {
  const keep = new Map<string, LockEntry>();
  const visit = (from: string, dependency: string, required: boolean) => {
    const path = resolveInLock(lock, from, dependency);
    if (!path) {
      if (required) throw new Error(`package-lock.json has no ${dependency} for ${from || 'the root'}`);
      return;
    }
    if (keep.has(path)) return;
    const { dev: _dev, devOptional, ...entry } = lock.packages[path]!;
    // Reachable from production dependencies here: only optional-ness carries over.
    keep.set(path, devOptional ? { ...entry, optional: true } : entry);
    for (const dep of Object.keys(entry.dependencies ?? {})) visit(path, dep, true);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) visit(path, dep, false);
  };
  for (const dep of Object.keys(manifest.dependencies)) visit('', dep, true);
  const packages = Object.fromEntries(
    Object.entries(hoistDuplicates(Object.fromEntries(keep))).sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  return {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: lock.lockfileVersion,
    requires: true,
    packages: {
      '': {
        name: manifest.name,
        version: manifest.version,
        dependencies: manifest.dependencies,
        engines: manifest.engines,
      },
      ...packages,
    },
  };
}

export function functionNames(functionsDir: string): string[] {
  return readdirSync(functionsDir)
    .filter((name) => statSync(join(functionsDir, name)).isDirectory())
    .filter((name) => {
      try {
        return statSync(join(functionsDir, name, 'index.ts')).isFile();
      } catch {
        return false;
      }
    })
    .sort();
}

export async function buildFunctions(options: BuildOptions = {}): Promise<Bundle[]> {
  const root = options.root ?? REPO;
  const functionsDir = options.functionsDir ?? join(root, 'functions');
  const outDir = options.outDir ?? join(root, 'dist', 'functions');
  const rootPackage = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as RootPackage;
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as Lockfile;
  const names = options.names ?? functionNames(functionsDir);

  const bundles: Bundle[] = [];
  for (const name of names) {
    const entry = join(functionsDir, name, 'index.ts');
    const dir = join(outDir, name);
    rmSync(dir, { recursive: true, force: true }); // no stale files in the deployed archive
    mkdirSync(dir, { recursive: true });
    // A function's preload (functions/<name>/preload.ts, run by NODE_OPTIONS `--import` before the
    // framework: Terraform's node_options) is bundled beside it as preload.mjs.
    const preload = join(functionsDir, name, 'preload.ts');
    const result = await build({
      entryPoints: { index: entry, ...(existsSync(preload) ? { preload } : {}) },
      outdir: dir,
      // Code splitting keeps dynamic imports lazy: an adapter the configuration does not use (the
      // BigQuery, Pub/Sub or Firestore client) is not loaded at cold start. Without it esbuild
      // inlines the dynamically imported module and hoists its package imports to the top.
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      outExtension: { '.js': '.mjs' },
      banner: { js: REQUIRE_BANNER },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      plugins: [externalPackages(patchedPackages(root))],
      // Packages resolve from the repo's node_modules, wherever the entry is (a test builds one in /tmp).
      nodePaths: [join(root, 'node_modules')],
      metafile: true,
      legalComments: 'none',
      logLevel: 'warning',
    });

    const imported = importedPackages(result.metafile);
    for (const pkg of new Set([...directPackages(result.metafile), ...imported])) {
      if (!rootPackage.dependencies?.[pkg]) {
        const where = rootPackage.devDependencies?.[pkg] ? 'a devDependency' : 'not a dependency';
        throw new Error(
          `functions/${name} imports ${pkg}, which is ${where} of the root package.json: add it to "dependencies".`,
        );
      }
    }
    const dependencies: Record<string, string> = {};
    for (const pkg of imported) {
      const installed = lock.packages[`node_modules/${pkg}`]?.version;
      if (!installed) throw new Error(`${pkg} is not in package-lock.json: run npm install.`);
      dependencies[pkg] = installed;
    }

    const cached = COMPILE_CACHED.includes(name);
    const manifest: FunctionManifest = {
      name: `${rootPackage.name}-${name}`,
      version: rootPackage.version,
      private: true,
      type: 'module',
      main: cached ? CACHED_START_FILE : ENTRY_FILE,
      ...(cached
        ? {
            scripts: { 'gcp-build': 'node build-cache.mjs' },
            config: { nodeOptions: terraformNodeOptions(root, name) },
          }
        : {}),
      engines: { node: rootPackage.engines?.node ?? '24' },
      dependencies,
    };
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    writeFileSync(
      join(dir, 'package-lock.json'),
      `${JSON.stringify(pruneLockfile(lock, manifest), null, 2)}\n`,
    );
    writeFileSync(
      join(dir, 'THIRD_PARTY_NOTICES.txt'),
      thirdPartyNotices(process.cwd(), inlinedPackageDirs(result.metafile)),
    );
    for (const [from, to] of Object.entries(FUNCTION_ASSETS[name] ?? {})) copyFileSync(from, join(dir, to));
    if (cached) {
      for (const [from, to] of Object.entries(COMPILE_CACHE_FILES))
        copyFileSync(join(REPO, from), join(dir, to));
    }
    // The operator console the API serves under /console (shared/api/console.ts looks beside itself first).
    if (name === 'api') await buildConsole({ outDir: join(dir, 'console') });
    bundles.push({ name, dir, bytes: statSync(join(dir, ENTRY_FILE)).size, dependencies });
  }
  return bundles;
}

/**
 * The Cloud Run jobs' container (jobs/<name>/, today the ops job: migrations and the first admin key):
 * the same bundle as a function, plus a Dockerfile that installs its pruned lockfile on Node 24.
 * `npm run deploy` builds the image from dist/jobs/<name> with Cloud Build, tagged by content hash.
 */
export const JOB_DOCKERFILE = `FROM node:24-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
USER node
ENTRYPOINT ["node", "${ENTRY_FILE}"]
`;

export async function buildJobs(options: BuildOptions = {}): Promise<Bundle[]> {
  const root = options.root ?? REPO;
  const bundles = await buildFunctions({
    root,
    functionsDir: options.functionsDir ?? join(root, 'jobs'),
    outDir: options.outDir ?? join(root, 'dist', 'jobs'),
    ...(options.names ? { names: options.names } : {}),
  });
  for (const b of bundles) writeFileSync(join(b.dir, 'Dockerfile'), JOB_DOCKERFILE);
  return bundles;
}

if (import.meta.main) {
  const names = process.argv.slice(2);
  const bundles = [
    ...(await buildFunctions(names.length > 0 ? { names } : {})),
    ...(names.length > 0 ? [] : await buildJobs()),
  ];
  if (bundles.length === 0) console.log('no functions/*/index.ts to build');
  for (const b of bundles) {
    const kib = (b.bytes / 1024).toFixed(0);
    console.log(
      `${relative(REPO, b.dir)}/${ENTRY_FILE}  ${kib} KiB  imports: ${Object.keys(b.dependencies).join(', ')}`,
    );
  }
}

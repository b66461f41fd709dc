import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { getFunction } from '@google-cloud/functions-framework/testing';
import { freePort } from '../../dev/peers/processes.ts';
import {
  type Bundle,
  buildFunctions,
  CACHED_START_FILE,
  COMPILE_CACHED,
  ENTRY_FILE,
  functionNames,
  hoistDuplicates,
  keptExternal,
  packageNameOf,
  patchedPackages,
} from '../../scripts/build.ts';
import { terraformNodeOptions } from '../../scripts/deployed-node-options.ts';
import { FUNCTION_SECTIONS } from '../../shared/config.ts';
import { loadTerraform } from './config.ts';
import { staticKeys } from './references.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Which of `packages` the bundle in `dir` imports statically from its entry (following static chunk imports only). */
function staticallyLoadedPackages(dir: string, packages: string[]): string[] {
  const found = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const code = readFileSync(join(dir, file), 'utf8');
    // Static imports only: `import … from "x"` and `import "x"`, not `import("x")`.
    for (const m of code.matchAll(
      /(?:^|[;\n])\s*(?:import|export)\s*(?:[^"'();]*?\sfrom\s*)?["']([^"']+)["']/g,
    )) {
      const spec = m[1]!;
      if (spec.startsWith('./') || spec.startsWith('../')) visit(join(file, '..', spec));
      else if (packages.some((p) => spec === p || spec.startsWith(`${p}/`))) found.add(spec);
    }
  };
  visit(ENTRY_FILE);
  return [...found];
}
/**
 * node_modules holding just what the bundle's package.json lists (each a link to the root's install): an
 * import the manifest forgot would not resolve here, as it would not after Cloud Build's `npm ci`.
 */
function installDeclaredPackages(bundle: Bundle): void {
  for (const pkg of Object.keys(bundle.dependencies)) {
    mkdirSync(join(bundle.dir, 'node_modules', pkg, '..'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules', pkg), join(bundle.dir, 'node_modules', pkg), 'dir');
  }
}

/**
 * What Cloud Run runs: the function's own framework on the folder (package.json's main: index.mjs), in that
 * folder (Cloud Run's /workspace), with the NODE_OPTIONS Terraform gives the function and only `env` (and a
 * PATH), resolved once it says it serves.
 */
async function startFramework(
  dir: string,
  target: string,
  env: Record<string, string>,
): Promise<{ url: string; stderr: () => string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      join(dir, 'node_modules/@google-cloud/functions-framework/build/src/main.js'),
      `--target=${target}`,
      '--signature-type=http',
      `--port=${port}`,
      `--source=${dir}`,
    ],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        LOG_LEVEL: 'error',
        DATABASE_URL: 'postgres://test@127.0.0.1:9/none',
        METADATA_SERVER_DETECTION: 'none',
        NODE_OPTIONS: target in FUNCTION_SECTIONS ? terraformNodeOptions(REPO, target) : '',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const stop = async () => {
    child.removeAllListeners('exit');
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.once('exit', (code) => reject(new Error(`the framework exited (${code}): ${stderr}`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('URL:')) resolve();
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { url: `http://127.0.0.1:${port}`, stderr: () => stderr, stop };
}

const rootPackage = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'wnm-bundles-'));
after(() => rmSync(work, { recursive: true, force: true }));

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));

/** A throw-away function: the real functions framework and hono, our logger, a local helper, types. */
function writeDemoFunction(name: string, extraImport = '') {
  const dir = join(work, 'functions', name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'greeting.ts'), 'export const greeting = (who: string) => `hello ${who}`;\n');
  writeFileSync(
    join(dir, 'index.ts'),
    `import { createHash } from 'node:crypto';
import * as ff from '@google-cloud/functions-framework';
import { Hono } from 'hono';
import type { Logger } from '${join(REPO, 'shared/log.ts')}';
import { createLogger } from '${join(REPO, 'shared/log.ts')}';
import { greeting } from './greeting.ts';
${extraImport}
const log: Logger = createLogger({ sink: () => {} });
const app = new Hono().get('/', (c) => c.text(greeting(createHash('sha1').update('x').digest('hex').slice(0, 4))));
ff.http('${name}', (req, res) => { log.info('hit'); res.send(String(typeof app.fetch)); });
`,
  );
}

describe('npm run build (scripts/build.ts)', () => {
  test('names the package behind an import, and nothing for Node built-ins', () => {
    assert.equal(
      packageNameOf('@google-cloud/functions-framework/testing'),
      '@google-cloud/functions-framework',
    );
    assert.equal(packageNameOf('hono/cors'), 'hono');
    assert.equal(packageNameOf('postgres'), 'postgres');
    assert.equal(packageNameOf('node:crypto'), undefined);
    assert.equal(packageNameOf('fs'), undefined);
  });

  test('bundles a function: shared code and npm packages inlined, the framework and the lazy clients external, a minimal package.json and lockfile', async () => {
    writeDemoFunction('demo');
    const outDir = join(work, 'dist');
    const [bundle] = await buildFunctions({ functionsDir: join(work, 'functions'), outDir, names: ['demo'] });
    const dir = join(outDir, 'demo');
    assert.equal(bundle?.dir, dir);

    // .mjs: the framework knows an ES module by its extension, without reading package.json's "type".
    assert.equal(ENTRY_FILE, 'index.mjs');
    const code = readFileSync(join(dir, ENTRY_FILE), 'utf8');
    assert.match(code, /hello \$\{who\}/, 'the local helper is inlined');
    assert.match(code, /function createLogger/, 'shared code is inlined');
    assert.doesNotMatch(code, /from "hono"/, 'hono is inlined');
    assert.doesNotMatch(code, /from "pino"/, 'pino (CommonJS) is inlined');
    assert.match(code, /from "@google-cloud\/functions-framework"/, 'the framework stays an import');
    const notices = readFileSync(join(dir, 'THIRD_PARTY_NOTICES.txt'), 'utf8');
    assert.match(
      notices,
      /^hono@\d+\.\d+\.\d+ — MIT\n\nMIT License/m,
      'the inlined hono carries its license',
    );
    assert.match(notices, /^pino@\d+\.\d+\.\d+ — MIT$/m);
    for (const otel of ['api', 'sdk-trace', 'exporter-trace-otlp-proto']) {
      assert.match(notices, new RegExp(`^@opentelemetry/${otel}@\\d+\\.\\d+\\.\\d+ — Apache-2\\.0$`, 'm'));
    }
    assert.doesNotMatch(notices, /functions-framework@/, 'an installed package is not a copy of ours');

    const manifest = readJson(join(dir, 'package.json'));
    // Only what the bundle still imports: the framework (one registry with its entry), and Google's auth
    // client, which the Cloud Trace exporter of shared/log.ts's tracing imports when TRACING=cloud (the
    // OpenTelemetry SDK and exporter are inlined, in a chunk loaded only then).
    const shipped = ['@google-cloud/functions-framework', 'google-auth-library'];
    assert.deepEqual(
      manifest.dependencies,
      Object.fromEntries(shipped.map((p) => [p, rootPackage.dependencies[p]])),
    );
    assert.ok(Object.keys(manifest.dependencies).every(keptExternal));
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.main, ENTRY_FILE);
    assert.equal(manifest.engines.node, rootPackage.engines.node);

    const lock = readJson(join(dir, 'package-lock.json'));
    assert.deepEqual(lock.packages[''].dependencies, manifest.dependencies);
    assert.ok(lock.packages['node_modules/express'], 'the framework’s own dependencies are locked');
    for (const tool of ['esbuild', 'typescript', '@biomejs/biome', 'zod', 'hono', 'pino']) {
      assert.equal(lock.packages[`node_modules/${tool}`], undefined, `${tool} is not installed`);
    }
    assert.ok(Object.values(lock.packages).every((p) => !(p as { dev?: boolean }).dev));

    // The bundle runs on this Node (24) with only the framework installed beside it (no hono, no pino:
    // inlined, CommonJS ones included) and registers its function with the framework.
    const modules = join(dir, 'node_modules');
    mkdirSync(join(modules, '@google-cloud'), { recursive: true });
    symlinkSync(
      join(REPO, 'node_modules/@google-cloud/functions-framework'),
      join(modules, '@google-cloud/functions-framework'),
      'dir',
    );
    await import(pathToFileURL(join(dir, ENTRY_FILE)).href);
    assert.equal(typeof getFunction('demo'), 'function');
  });

  test('the function’s lockfile installs a package once where the dev tree nests copies of one version: every dependency resolves to the version it did', async () => {
    writeDemoFunction('demo-dedupe');
    const [bundle] = await buildFunctions({
      functionsDir: join(work, 'functions'),
      outDir: join(work, 'dist-dedupe'),
      names: ['demo-dedupe'],
    });
    assert.ok(bundle);
    const lock = readJson(join(bundle.dir, 'package-lock.json')) as {
      packages: Record<string, { version?: string; dependencies?: Record<string, string> }>;
    };
    const rootLock = readJson(join(REPO, 'package-lock.json')) as typeof lock;
    const paths = Object.keys(lock.packages);
    // The repo's tree nests mime-types 3 (and its mime-db) under Express, accepts, send and type-is, since its
    // top holds autocannon's mime-types 2; the function's tree has a free top: one copy of each.
    assert.ok(
      Object.keys(rootLock.packages).filter((p) => p.endsWith('/node_modules/mime-types')).length > 1,
    );
    for (const name of ['mime-types', 'mime-db']) {
      assert.deepEqual(
        paths.filter((p) => p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`)),
        [`node_modules/${name}`],
        `${name} installed once`,
      );
    }
    // Each package's dependencies resolve (Node's nearest node_modules) to the versions the repo's tree gives them.
    const resolve = (tree: typeof lock, from: string, dep: string) => {
      for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
        const at = `${base ? `${base}/` : ''}node_modules/${dep}`;
        if (tree.packages[at]) return tree.packages[at]!.version;
        if (!base) return undefined;
      }
    };
    const versionAt = (path: string) => lock.packages[path]!.version;
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!path) continue;
      const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
      // The same package in the repo's tree (one of its copies), and what its dependencies resolved to there.
      const original = Object.keys(rootLock.packages).find(
        (p) =>
          (p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`)) &&
          rootLock.packages[p]!.version === versionAt(path),
      );
      assert.ok(original, `${path}@${versionAt(path)} is in the repo's tree`);
      for (const dep of Object.keys(entry.dependencies ?? {})) {
        assert.equal(resolve(lock, path, dep), resolve(rootLock, original, dep), `${path} → ${dep}`);
      }
    }
  });

  test('moves nested copies to the top only when they are one version and nothing resolves differently', () => {
    const v = (version: string, dependencies?: Record<string, string>) => ({ version, dependencies });
    // Two copies of b@1 under a and c: one b@1 at the top.
    assert.deepEqual(
      Object.keys(
        hoistDuplicates({
          'node_modules/a': v('1.0.0', { b: '^1' }),
          'node_modules/a/node_modules/b': v('1.0.0'),
          'node_modules/c': v('1.0.0', { b: '^1' }),
          'node_modules/c/node_modules/b': v('1.0.0'),
        }),
      ).sort(),
      ['node_modules/a', 'node_modules/b', 'node_modules/c'],
    );
    // b@1 and b@2: both stay where they are.
    const twoVersions = {
      'node_modules/a': v('1.0.0', { b: '^1' }),
      'node_modules/a/node_modules/b': v('1.0.0'),
      'node_modules/c': v('1.0.0', { b: '^2' }),
      'node_modules/c/node_modules/b': v('2.0.0'),
    };
    assert.deepEqual(hoistDuplicates(twoVersions), twoVersions);
    // A b at the top would be found by d, which found none before (an optional peer left out): b stays nested.
    const shadowing = {
      'node_modules/a': v('1.0.0', { b: '^1' }),
      'node_modules/a/node_modules/b': v('1.0.0'),
      'node_modules/d': { version: '1.0.0', peerDependencies: { b: '*' } },
    };
    assert.deepEqual(hoistDuplicates(shadowing), shadowing);
    // A nested copy's own dependency moves first, then the copy: m (needing db) and db, each under x and y.
    assert.deepEqual(
      Object.keys(
        hoistDuplicates({
          'node_modules/x': v('1.0.0', { m: '^3' }),
          'node_modules/x/node_modules/m': v('3.0.0', { db: '^1' }),
          'node_modules/x/node_modules/db': v('1.54.0'),
          'node_modules/y': v('1.0.0', { m: '^3' }),
          'node_modules/y/node_modules/m': v('3.0.0', { db: '^1' }),
          'node_modules/y/node_modules/db': v('1.54.0'),
        }),
      ).sort(),
      ['node_modules/db', 'node_modules/m', 'node_modules/x', 'node_modules/y'],
    );
  });

  test('refuses a bundle that imports a devDependency', async () => {
    writeDemoFunction('uses-dev-dependency', "import fc from 'fast-check';\nconsole.log(fc);");
    await assert.rejects(
      buildFunctions({
        functionsDir: join(work, 'functions'),
        outDir: join(work, 'dist'),
        names: ['uses-dev-dependency'],
      }),
      /imports fast-check, which is a devDependency of the root package\.json/,
    );
  });
});

describe('the repo’s functions', () => {
  test('are the functions the configuration and Terraform know', async () => {
    const config = await loadTerraform();
    const deployed = staticKeys(config, '${var.functions}')?.sort();
    assert.deepEqual(functionNames(join(REPO, 'functions')), Object.keys(FUNCTION_SECTIONS).sort());
    assert.deepEqual(deployed, Object.keys(FUNCTION_SECTIONS).sort());
  });

  test('bundle with dependencies from the root package.json; the API bundle loads no BigQuery or Pub/Sub client', async () => {
    const bundles = await buildFunctions({ outDir: join(work, 'repo-dist') });
    assert.deepEqual(
      bundles.map((b) => b.name),
      Object.keys(FUNCTION_SECTIONS).sort(),
    );
    for (const b of bundles) {
      assert.ok(
        '@google-cloud/functions-framework' in b.dependencies,
        `${b.name} registers with the framework`,
      );
      // Everything else is inlined: the function installs only the framework and the lazy clients.
      assert.deepEqual(
        Object.keys(b.dependencies).filter((p) => !keptExternal(p)),
        [],
        `${b.name}: installs only what must stay a package`,
      );
      assert.equal(
        readJson(join(b.dir, 'package.json')).main,
        COMPILE_CACHED.includes(b.name) ? CACHED_START_FILE : ENTRY_FILE,
      );
      for (const [pkg, version] of Object.entries(b.dependencies)) {
        assert.equal(
          version,
          rootPackage.dependencies[pkg],
          `${b.name}: ${pkg} at the root's pinned version`,
        );
      }
    }
    // A patched package (patches/) is inlined as patched, never installed unpatched by the function.
    assert.deepEqual(patchedPackages(REPO), ['postgres']);
    for (const b of bundles) {
      assert.equal('postgres' in b.dependencies, false, `${b.name}: postgres is inlined`);
      const code = readFileSync(join(b.dir, ENTRY_FILE), 'utf8');
      assert.match(code, /chunk = nextWriteTimer = null/, `${b.name}: carries the patched postgres.js`);
    }
    const api = bundles.find((b) => b.name === 'api')!;
    assert.deepEqual(
      Object.keys(api.dependencies).filter((d) => d === '@google-cloud/pubsub'),
      [],
    );
    // BigQuery only behind a dynamic import (POST /readings' sink loads it on its first write): nothing
    // the entry loads statically imports it, so the API starts without it.
    assert.deepEqual(
      staticallyLoadedPackages(api.dir, ['@google-cloud/bigquery', '@google-cloud/pubsub']),
      [],
    );
    assert.ok(
      '@google-cloud/bigquery' in api.dependencies,
      'the sink is in the bundle, behind its dynamic import',
    );
    // The walk does find static imports (the framework is one).
    assert.deepEqual(staticallyLoadedPackages(api.dir, ['@google-cloud/functions-framework']), [
      '@google-cloud/functions-framework',
    ]);
  });

  test('the API bundle answers through the functions framework with only its package.json’s packages installed', async () => {
    const [api] = await buildFunctions({ outDir: join(work, 'api-only'), names: ['api'] });
    assert.ok(api);
    installDeclaredPackages(api);
    // Configured as in production (Upstash, so the cache and limiter's lazy chunks load with the app).
    const framework = await startFramework(api.dir, 'api', {
      TRACING: 'off',
      UPSTASH_REDIS_REST_URL: 'http://127.0.0.1:9',
      UPSTASH_REDIS_REST_TOKEN: 'test',
    });
    try {
      const base = framework.url;
      const health = await fetch(`${base}/health`);
      assert.equal(health.status, 200);
      assert.equal(((await health.json()) as { status: string }).status, 'ok');
      // The OpenAPI document: every route's zod schema, through the inlined zod and zod-openapi.
      const doc = await fetch(`${base}/openapi.json`);
      assert.equal(doc.status, 200);
      const paths = Object.keys(((await doc.json()) as { paths: Record<string, unknown> }).paths);
      assert.ok(paths.includes('/api/v1/nodes/{id}/metrics'), paths.join(', '));
      // The API gate: no key, a problem+json 401.
      const denied = await fetch(`${base}/api/v1/nodes`);
      assert.equal(denied.status, 401);
      assert.match(denied.headers.get('content-type') ?? '', /application\/problem\+json/);
      assert.equal(framework.stderr(), '', 'nothing logged at ERROR');
    } finally {
      await framework.stop();
    }
  });
  test('as Terraform deploys it (its node_options preload), the API never loads Node’s domain module: no domain-aware EventEmitter, bodies still through the framework', async () => {
    const [api] = await buildFunctions({ outDir: join(work, 'api-preload'), names: ['api'] });
    assert.ok(api);
    installDeclaredPackages(api);
    const deployed = terraformNodeOptions(REPO, 'api');
    assert.match(deployed, /--import \.\/preload\.mjs/);
    assert.ok(
      existsSync(join(api.dir, 'preload.mjs')),
      'npm run build bundles the preload beside the function',
    );
    // A probe loaded after the deployed flags reports, as the process exits, what it loaded.
    const probe = join(work, 'domain-probe.mjs');
    const seen = join(work, 'domain-probe.json');
    writeFileSync(
      probe,
      `import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
process.on('exit', () => writeFileSync(${JSON.stringify(seen)}, JSON.stringify({
  usingDomains: EventEmitter.usingDomains === true,
  domainModule: process.moduleLoadList.includes('NativeModule domain'),
})));
`,
    );
    const framework = await startFramework(api.dir, 'api', {
      TRACING: 'off',
      NODE_OPTIONS: `${deployed} --import ${pathToFileURL(probe).href}`,
    });
    try {
      const health = await fetch(`${framework.url}/health`);
      assert.equal(health.status, 200);
      // A request with a body goes through the framework's Express app and its per-request "domain".
      const post = await fetch(`${framework.url}/api/v1/readings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(post.status, 401);
      assert.match(post.headers.get('content-type') ?? '', /application\/problem\+json/);
      const again = await fetch(`${framework.url}/api/v1/nodes`);
      assert.equal(again.status, 401);
      assert.equal(framework.stderr(), '', 'nothing logged at ERROR');
    } finally {
      await framework.stop();
    }
    assert.deepEqual(JSON.parse(readFileSync(seen, 'utf8')), { usingDomains: false, domainModule: false });
  });

  test('the API ships V8’s code cache made by gcp-build: used on a fresh start, ignored when made by another Node', async () => {
    const [api] = await buildFunctions({ outDir: join(work, 'api-cached'), names: ['api'] });
    assert.ok(api);
    installDeclaredPackages(api);
    const manifest = readJson(join(api.dir, 'package.json'));
    assert.equal(manifest.main, CACHED_START_FILE);
    // What Cloud Build runs after `npm ci`, in the folder, on the runtime's Node.
    execFileSync(process.execPath, ['--run', 'gcp-build'], { cwd: api.dir, stdio: 'pipe' });
    assert.equal(manifest.scripts['gcp-build'], 'node build-cache.mjs');
    // Made under the flags the instances run with (startFramework passes Terraform's node_options).
    assert.equal(manifest.config.nodeOptions, terraformNodeOptions(REPO, 'api'));
    // V8's cache tag under those flags (heap sizes change it), as Node names its folder (8 hex digits).
    const deployedTag = execFileSync(
      process.execPath,
      ['-p', "require('node:v8').cachedDataVersionTag().toString(16).padStart(8, '0')"],
      {
        cwd: api.dir,
        env: { PATH: process.env.PATH ?? '', NODE_OPTIONS: manifest.config.nodeOptions },
        encoding: 'utf8',
      },
    ).trim();
    const tag = `${process.version}-${process.arch}-${deployedTag}-${process.getuid?.() ?? 0}`;
    const cacheDir = join(api.dir, 'compile-cache', tag);
    assert.ok(existsSync(cacheDir), `gcp-build wrote ${cacheDir}`);

    const env = { TRACING: 'off', NODE_DEBUG_NATIVE: 'COMPILE_CACHE' };
    const bundleAccepted = /V8 code cache for ESM \S+\/index\.mjs was accepted/;
    const startAndRead = async () => {
      const framework = await startFramework(api.dir, 'api', env);
      try {
        const health = await fetch(`${framework.url}/health`);
        const doc = await fetch(`${framework.url}/openapi.json`);
        return { health: health.status, doc: await doc.text(), stderr: framework.stderr() };
      } finally {
        await framework.stop();
      }
    };
    const cached = await startAndRead();
    assert.equal(cached.health, 200);
    assert.match(cached.stderr, bundleAccepted, 'the bundle was not compiled again');
    // The preload turns the cache on before the framework loads: its require graph (Express) is cached too.
    assert.match(
      cached.stderr,
      /V8 code cache for CommonJS \S+\/express\/lib\/application\.js was accepted/,
      'the framework’s Express was not compiled again',
    );

    // A cache of another Node or V8 (the base image updated since the build): not used, same answers.
    renameSync(cacheDir, join(api.dir, 'compile-cache', 'v0.0.0-x64-00000000-0'));
    const foreign = await startAndRead();
    assert.equal(foreign.health, 200);
    assert.doesNotMatch(foreign.stderr, bundleAccepted);
    assert.equal(foreign.doc, cached.doc, 'the same OpenAPI document either way');
  });

  test('with TRACING=cloud the API bundle’s request spans reach the OTLP endpoint, with the function’s identity', async () => {
    const [api] = await buildFunctions({ outDir: join(work, 'api-traced'), names: ['api'] });
    assert.ok(api);
    installDeclaredPackages(api);
    // One loopback server stands in for Cloud Run's metadata server (the function's access token) and
    // for Cloud Trace's OTLP endpoint (what the exporter posts).
    const exports: { authorization: string | undefined; body: Buffer }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'http://receiver').pathname;
        if (path.endsWith('/service-accounts/default/token')) {
          res.setHeader('metadata-flavor', 'Google');
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ access_token: 'function-token', expires_in: 3600, token_type: 'Bearer' }));
        } else if (req.method === 'POST' && path === '/v1/traces') {
          exports.push({ authorization: req.headers.authorization, body: Buffer.concat(chunks) });
          res.setHeader('content-type', 'application/x-protobuf');
          res.end();
        } else {
          res.statusCode = 404;
          res.setHeader('metadata-flavor', 'Google');
          res.end();
        }
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const at = `127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const framework = await startFramework(api.dir, 'api', {
      TRACING: 'cloud',
      TRACE_OTLP_URL: `http://${at}/v1/traces`,
      GCE_METADATA_HOST: at,
      METADATA_SERVER_DETECTION: 'assume-present',
    });
    try {
      // The API's tracing starts once its first response has been sent; then every request is a span,
      // child of the caller's traceparent. The batch processor exports on its own timer (5 s).
      const traceId = randomBytes(16).toString('hex');
      const traced = () => exports.some((e) => e.body.includes(Buffer.from(traceId, 'hex')));
      for (let i = 0; i < 200 && !traced(); i++) {
        const res = await fetch(`${framework.url}/health`, {
          headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
        });
        assert.equal(res.status, 200);
        await res.arrayBuffer();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const sent = exports.find((e) => e.body.includes(Buffer.from(traceId, 'hex')));
      assert.ok(
        sent,
        `no export carried the request's trace (${exports.length} exports): ${framework.stderr()}`,
      );
      assert.equal(sent.authorization, 'Bearer function-token');
      // OTLP protobuf: the resource's service.name and the server span's name travel as plain strings.
      assert.ok(sent.body.includes('service.name') && sent.body.includes('api'));
      assert.ok(sent.body.includes('GET'));
      assert.equal(framework.stderr(), '', 'nothing logged at ERROR');
    } finally {
      await framework.stop();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});

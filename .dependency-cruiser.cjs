/**
 * The architecture, as import rules (`npm run lint` checks them): the library (`shared/`) never reaches
 * into evaluation, dev tooling, scripts, benchmarks or tests; the cycle's steps and the API reach
 * PostgreSQL only through the store interfaces their deps carry (the wiring builds them); adapters never
 * depend on the code that uses them; the pure analytics do no I/O; no import circles.
 * SQL itself is kept inside shared/adapters/postgres by test/architecture.test.ts.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import circle: split the shared part into a module both import.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'library-stays-library',
      comment:
        'shared/ is what the functions deploy: it imports no evaluation, dev, script, bench or test code.',
      severity: 'error',
      from: { path: '^shared/' },
      to: { path: '^(eval|dev|scripts|bench|test)/' },
    },
    {
      name: 'steps-use-stores',
      comment:
        'The cycle and the API get PostgreSQL through the stores in their deps (built in shared/wiring).',
      severity: 'error',
      from: { path: '^shared/(cycle|api)/' },
      to: { path: '^shared/adapters/postgres/' },
    },
    {
      name: 'adapters-know-no-callers',
      comment:
        'An adapter implements the ports (the types-only store.ts / stores.ts files) and may import their types; it never imports the steps, the API or the wiring themselves.',
      severity: 'error',
      from: { path: '^shared/adapters/' },
      to: {
        path: '^shared/(cycle|api|wiring)/',
        pathNot: '^shared/(cycle/[^/]+/store|api/stores)[.]ts$',
      },
    },
    {
      name: 'pure-analytics',
      comment: 'Domain and analytics are pure: no adapters, steps, API, wiring or sources.',
      severity: 'error',
      from: { path: '^shared/(domain|analytics|anomaly|forecast)/' },
      to: { path: '^shared/(adapters|cycle|api|wiring|sources|simulator)/' },
    },
    {
      name: 'thin-entry-points',
      comment: 'functions/<name>/index.ts registers with the functions framework and delegates to shared/.',
      severity: 'error',
      from: { path: '^(functions|jobs)/' },
      to: { path: '^(eval|dev|scripts|bench|test)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};

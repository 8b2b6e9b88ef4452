// The architecture's import rules (issue 14), checked by test/boundaries.test.ts in
// `npm test`; `npx depcruise src` runs the same check by hand.
//
//   queue core    src/db/, src/worker/ (store, pool, lease, settle, retry, registry,
//                 schedule, and the core job kinds noop and prune-jobs)
//   features      src/bot/ (grammY), src/orders/ (the bot's job kinds), src/api/
//                 (cards over HTTP, with its job kinds), src/telegram/ (Bot API client),
//                 src/cards/ (the renderer), src/ai/, src/http/, src/i18n/ (user texts)
//
// Features may use the core; the core never uses a feature.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'queue-core-knows-no-product',
      comment: 'The queue core (src/db, src/worker) knows no product face: job kinds live with the feature that owns them.',
      severity: 'error',
      from: { path: '^src/(db|worker)/' },
      to: { path: ['^src/(bot|api|cards|telegram|orders|i18n|http|ai)/', '^src/(main|cli|compose-telegram)\\.ts$'] },
    },
    {
      name: 'jobs-not-from-bot',
      comment: 'Job kinds (src/worker, src/orders, src/api) do not reach into the grammY bot: they meet it through the store, and the texts they send users come from src/i18n.',
      severity: 'error',
      from: { path: '^src/(worker|orders|api)/' },
      to: { path: '^src/bot/' },
    },
    {
      name: 'bot-not-worker',
      comment: 'The grammY bot and the worker meet only through the store (DESIGN.md): src/bot imports nothing from src/worker.',
      severity: 'error',
      from: { path: '^src/bot/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'cards-self-contained',
      comment: 'src/cards (the renderer) imports nothing of the project outside itself.',
      severity: 'error',
      from: { path: '^src/cards/' },
      to: { path: '^src/', pathNot: '^src/cards/' },
    },
    {
      name: 'telegram-not-worker',
      comment: 'src/telegram (the Bot API client) imports nothing from the queue worker.',
      severity: 'error',
      from: { path: '^src/telegram/' },
      to: { path: '^src/worker/' },
    },
    {
      name: 'no-circular',
      comment: 'No import cycles anywhere in src/ (type-only imports count too).',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-orphans',
      comment: 'A module in src/ that imports nothing of the project and that nothing imports is dead code.',
      severity: 'error',
      from: {
        orphan: true,
        path: '^src/',
        // the dashboard's script is a static file served by src/http, not a module
        pathNot: ['\\.d\\.ts$', '^src/http/dashboard/'],
      },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
      // package subpaths (grammy/types, hono/body-limit) resolve through "exports"
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
    },
  },
};

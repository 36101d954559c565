// The layers of docs/DESIGN.md, checked on every `pnpm run lint`. An arrow may only point down:
// contracts <- adapter kit (http, webhooks, lead, kit) <- adapters <- orchestration <- faces.
// Workspace packages resolve to their sources (the `@leadpipe/source` condition), so a rule about
// `packages/core/src/...` sees through `@leadpipe/core` and `@leadpipe/core/adapter-kit`.

/** Orchestration inside core: what adapters must never load, directly or through another module. */
const ORCHESTRATION =
  '^packages/core/src/crm/(?!mapping|webhooks)|^packages/core/src/(limits|pipeline|events|stores)/|^packages/core/src/enrich/(?!define-provider|validate-result)|^packages/core/src/index\\.ts$';
/** What an adapter author may use: contracts and the kit. */
const ADAPTER_KIT =
  '^packages/core/src/(contracts|http|webhooks|lead|kit|options|telemetry)/|^packages/core/src/enrich/(define-provider|validate-result)\\.ts$|^packages/core/src/crm/(mapping|webhooks)\\.ts$|^packages/core/src/adapter-kit\\.ts$';
const ADAPTERS = '^packages/(provider|crm|email|store|cache|events)-[^/]+/src/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'contracts-stand-alone',
      comment: 'Contracts are the lowest layer: they import only other contracts (and npm packages).',
      severity: 'error',
      from: { path: '^packages/core/src/contracts/' },
      to: { path: '^packages/', pathNot: '^packages/core/src/contracts/' },
    },
    {
      name: 'kit-below-orchestration',
      comment: 'The adapter kit (and the contracts) must not load orchestration.',
      severity: 'error',
      from: { path: ADAPTER_KIT },
      to: { path: ORCHESTRATION },
    },
    {
      name: 'core-names-no-vendor',
      comment: 'Core knows no vendor: it never imports an adapter, the testkit or a face.',
      severity: 'error',
      from: { path: '^packages/core/src/' },
      to: { path: '^packages/(?!core/)' },
    },
    {
      name: 'adapters-use-the-kit-only',
      comment: 'Adapters depend on the adapter kit, never on orchestration, even indirectly.',
      severity: 'error',
      from: { path: ADAPTERS },
      to: { path: ORCHESTRATION, reachable: true },
    },
    {
      name: 'adapters-never-import-each-other',
      comment: 'An adapter never imports another adapter.',
      severity: 'error',
      from: { path: '^packages/((provider|crm|email|store|cache|events)-[^/]+)/src/' },
      to: { path: ADAPTERS, pathNot: '^packages/$1/src/' },
    },
    {
      name: 'product-never-imports-testkit',
      comment:
        'The product never loads the testkit; the CLI may, only as a type or through the dynamic import behind --emulate.',
      severity: 'error',
      from: { path: '^packages/(?!testkit/)[^/]+/src/' },
      to: { path: '^packages/testkit/', dependencyTypesNot: ['type-only', 'dynamic-import'] },
    },
    {
      name: 'nothing-imports-faces',
      comment:
        'Faces (the CLI, the server, the dashboard the server mounts) sit on top: no package below imports them.',
      severity: 'error',
      from: { path: '^packages/(?!cli/|server/|dashboard/)[^/]+/src/' },
      to: { path: '^packages/(cli|server|dashboard)/src/' },
    },
    {
      name: 'dashboard-below-the-server',
      comment: 'The dashboard is mounted by the server (and the CLI through it): it never imports either.',
      severity: 'error',
      from: { path: '^packages/dashboard/src/' },
      to: { path: '^packages/(cli|server)/src/' },
    },
    {
      name: 'no-unresolvable',
      comment:
        'Every import resolves: a package used is a declared dependency (an adapter importing another cannot resolve it).',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      comment:
        'A cycle between modules means the seam is in the wrong place. Cycles made only of type imports are erased at build time and allowed.',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['@leadpipe/source', 'import', 'default'],
      extensions: ['.ts', '.js'],
    },
  },
};

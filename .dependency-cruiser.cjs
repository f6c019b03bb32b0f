/**
 * The layer rules of docs/architecture.md, checked by `npm test` (`depcruise src`). Type-only
 * imports count: a type is a dependency too.
 *
 * Layers, top to bottom. A module imports its own layer and the layers below it, never one
 * above. The core is every folder of src/ that no other layer names, so a new capability
 * (src/codes/, src/audit/…) is core until it says otherwise.
 */
const CORE = '^src/';

const LAYERS = [
  // Start-up and the operator's tools: they open storage and wire the platform.
  ['entry', '^src/(main|server|bootstrap)\\.ts$|^src/(cli|provisioning)/'],
  // The HTTP app: routes, hosted-page routes, mounting, which renderer answers for which paths.
  ['http', '^src/app\\.ts$|^src/http/'],
  // Vendor facades: parse the vendor's request, call the core, render the vendor's answer.
  ['compat', '^src/compat/'],
  // The wired platform (`createServices`) and the routine that purges what time made stale.
  ['wiring', '^src/(services|maintenance)\\.ts$'],
  // Hosted pages: the html tag, one layout, the pages, and what they are sent with (security headers, the flow cookie).
  ['ui', '^src/ui/'],
  // Flows, verification, oauth, identity, clients, one-click, kyc, redirects, …
  ['core', CORE],
  // What the core sets off or consults: notifications (SMS, webhooks), counted limits, telemetry (metrics, security events).
  ['effects', '^src/(notifications|limits|telemetry)/'],
  ['storage', '^src/storage/'],
  ['config', '^src/config/'],
  ['kernel', '^src/kernel/'],
];

/** The modules of a layer; for the core, every module of src/ that no other layer names. */
function members(index) {
  const [, path] = LAYERS[index];
  if (path !== CORE) return { path };
  return { path, pathNot: LAYERS.filter(([, p]) => p !== CORE).map(([, p]) => p).join('|') };
}

const noUpwardImports = LAYERS.flatMap(([lower], i) =>
  LAYERS.slice(0, i).map(([upper], j) => ({
    name: `layers-${lower}-not-${upper}`,
    comment: `The ${lower} layer does not import the ${upper} layer above it.`,
    severity: 'error',
    from: members(i),
    to: members(j),
  })),
);

module.exports = {
  forbidden: [
    ...noUpwardImports,
    {
      name: 'no-cycles',
      comment: 'No module imports itself back, directly or through others.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'No folder imports itself back through other folders (clients/ and one-click/ once did).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/.+' },
      to: { path: '^src/.+', circular: true },
    },
    {
      name: 'only-oauth-imports-oidc-provider',
      comment: 'Everything else talks to OAuthEngine and the functions beside it.',
      severity: 'error',
      from: { pathNot: '^src/oauth/' },
      to: { path: '(^|/)node_modules/(@types/)?oidc-provider/' },
    },
    {
      name: 'only-storage-imports-sql-drivers',
      comment: 'Only src/storage/ issues SQL: the PostgreSQL and PGlite drivers (and pg-boss, which runs its own) are imported there alone.',
      severity: 'error',
      from: { pathNot: '^src/storage/' },
      to: { path: '(^|/)node_modules/(pg|pg-boss|pg-pool|@electric-sql/pglite)/' },
    },
    {
      name: 'only-storage-uses-db-values',
      comment:
        'Outside src/storage/, db.ts is imported for its types alone: a Db or Queryable is passed on to repositories, ' +
        'or a transaction opened for them; only start-up (bootstrap.ts) opens the database.',
      severity: 'error',
      from: { pathNot: '^src/storage/|^src/bootstrap\\.ts$' },
      to: { path: '^src/storage/db\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'compat-not-other-facades',
      comment: 'A facade does not import another facade.',
      severity: 'error',
      from: { path: '^src/compat/([^/]+)/' },
      to: { path: '^src/compat/', pathNot: '^src/compat/$1/' },
    },
    {
      name: 'compat-only-core',
      comment:
        'A facade calls the core (through the wired platform, with the kernel, and the ui to render its pages); ' +
        'it never reaches past the core into storage, effects or configuration.',
      severity: 'error',
      from: { path: '^src/compat/' },
      to: { path: '^src/(storage|notifications|limits|telemetry|config)/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};

// @ts-check
import tseslint from 'typescript-eslint';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';

/** Node built-ins (with and without the `node:` prefix) that workflow-safe code must never import. */
const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

/**
 * Folders in the order data flows through them; a folder imports only from folders after it (and domain/, platform/
 * from none of the others). sdk/ runs inside client applications and takes only shared definitions.
 */
const layers = ['cli', 'worker', 'api', 'ingress', 'sdk', 'client', 'workflows', 'activities', 'destinations'];
const shared = ['domain', 'platform'];
const upwardZones = [
  ...layers.map((target, i) => ({
    target: `./${target}`,
    from: layers.slice(0, i).map((f) => `./${f}`),
    message: `${target}/ may not import from a folder above it (imports go one way: ${layers.join(' → ')}).`,
  })),
  ...shared.map((target) => ({
    target: `./${target}`,
    from: [...layers, ...shared.filter((s) => s !== target)].map((f) => `./${f}`),
    message: `${target}/ is shared by every folder and imports from none of them.`,
  })),
  {
    target: './sdk',
    from: ['./client', './workflows', './activities'],
    message: 'sdk/ runs inside client applications.',
  },
  {
    target: [...layers, ...shared].map((f) => `./${f}`),
    from: ['./testkit', './test', './bench', './chaos'],
    message: 'The service does not import test, benchmark or chaos code (testkit/ holds what those share).',
  },
  { target: './api', from: ['./ingress'], message: 'api/ and ingress/ are separate entry points.' },
  { target: './ingress', from: ['./api'], message: 'api/ and ingress/ are separate entry points.' },
].filter((z) => z.from.length > 0);

export default tseslint.config(
  { ignores: ['node_modules/**', '.stack/**', 'dist/**', 'coverage/**', 'test-artifacts/**', 'bin/**'] },
  ...tseslint.configs.recommended,
  {
    // Plain CommonJS scripts that must run before npm dependencies exist.
    files: ['scripts/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: { require: 'readonly', __dirname: 'readonly', console: 'readonly' },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    // Resolve our extension-less TypeScript imports, so the import rules (no-cycle, no-restricted-paths) see them.
    settings: { 'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json'] })] },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-restricted-paths': ['error', { zones: upwardZones }],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // Deterministic code: workflows and the workflow-safe domain. Only @temporalio/workflow (and @temporalio/common
    // for types/keys), zod, type-only imports of activities, and pure local modules.
    files: ['workflows/**/*.ts', 'domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((name) => [
              { name, message: 'Workflow code must be deterministic: no Node built-ins.' },
              { name: `node:${name}`, message: 'Workflow code must be deterministic: no Node built-ins.' },
            ]),
            { name: '@temporalio/activity', message: 'Activities run outside the workflow sandbox.' },
            { name: '@temporalio/worker', message: 'The worker package is not workflow-safe.' },
            { name: '@temporalio/client', message: 'The client package is not workflow-safe.' },
          ],
          patterns: [
            {
              group: [
                '../activities',
                '../activities/*',
                '../destinations/*',
                '../platform/*',
                '../api/*',
                '../worker/*',
                '../ingress/*',
              ],
              allowTypeImports: true,
              message: 'Workflow code may only import activities (and other Node-side modules) as types.',
            },
            { group: ['undici', 'kafkajs', 'pino', 'express', 'prom-client'], message: 'Not workflow-safe.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code never reads the environment.' },
        { name: 'setTimeout', message: 'Use sleep() or condition() from @temporalio/workflow.' },
        { name: 'require', message: 'No dynamic requires in workflow code.' },
      ],
    },
  },
);

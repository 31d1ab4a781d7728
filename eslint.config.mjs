// Lint rules that encode the project's architecture (docs/architecture.md). `npm test` runs them.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Words that start an SQL statement: outside src/db/ a string holding one is a query built in the wrong place. */
const SQL = String.raw`/\b(SELECT\s[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|DATABASE|SERVER)|DROP\s+(TABLE|DATABASE)|ALTER\s+TABLE|GET_LOCK|SHOW\s+(TABLES|VARIABLES))\b/`;

/**
 * The folder map as import permissions. A zone forbids `target` to import from `from`:
 * lower layers never reach up, and library layers never reach the CLI.
 */
const src = (p) => `./src/${p}`;
const UI_AND_CLI = ['commands', 'ui', 'cli.ts'].map(src);
const LAYERS = [
  // db/ is the bottom: it may use config, errors and the secret type, nothing that uses it.
  {
    target: src('db'),
    from: [
      'ml',
      'samples',
      'ingest',
      'export',
      'images',
      'report',
      'serve',
      'local-servers',
      'doctor',
      'mldb.ts',
      'bench',
      'study',
      ...UI_AND_CLI,
    ].map((p) => (p.startsWith('./') ? p : src(p))),
  },
  // The study engine sits on db/ and knows no objective: training reaches it, never the reverse.
  {
    target: src('study'),
    from: ['ml', 'samples', 'ingest', 'export', 'images', 'report', 'serve', 'dashboard', 'mldb.ts', ...UI_AND_CLI].map(
      (p) => (p.startsWith('./') ? p : src(p)),
    ),
  },
  {
    target: src('images'),
    from: [src('db'), src('ml'), src('samples'), src('ingest'), src('report'), src('serve'), ...UI_AND_CLI],
  },
  {
    target: src('samples'),
    from: [src('ml'), src('ingest'), src('export'), src('report'), src('serve'), ...UI_AND_CLI],
  },
  { target: src('ingest'), from: [src('ml'), src('samples'), src('export'), src('report'), ...UI_AND_CLI] },
  { target: src('export'), from: [src('ml'), src('samples'), src('ingest'), src('report'), ...UI_AND_CLI] },
  {
    target: src('ml'),
    from: [src('ingest'), src('export'), src('report'), src('serve'), src('mldb.ts'), ...UI_AND_CLI],
  },
  // The service uses the model and the database; it never reaches the CLI or the ingest pipeline.
  { target: src('serve'), from: [src('ingest'), src('export'), src('report'), src('mldb.ts'), ...UI_AND_CLI] },
  // What both servers share: HTTP pieces over db/ and errors, knowing neither server.
  {
    target: src('http'),
    from: ['ml', 'samples', 'ingest', 'export', 'report', 'serve', 'dashboard', 'mldb.ts', ...UI_AND_CLI].map((p) =>
      p.startsWith('./') ? p : src(p),
    ),
  },
  // The dashboard reads the database through db/ and answers through http/; the service mounts it, never the reverse.
  { target: src('dashboard'), from: [src('serve'), src('ingest'), src('export'), src('mldb.ts'), ...UI_AND_CLI] },
  { target: src('report'), from: [src('ingest'), src('export'), src('mldb.ts'), src('commands'), src('cli.ts')] },
  { target: src('ui'), from: [src('db'), src('ml'), src('samples'), src('ingest'), src('export'), src('commands')] },
  { target: src('mldb.ts'), from: UI_AND_CLI },
  // Private server processes for the demo and tests: they may register shards (db/), nothing above.
  {
    target: src('local-servers'),
    from: ['ml', 'samples', 'ingest', 'export', 'report', 'serve', 'mldb.ts', 'doctor', ...UI_AND_CLI].map((p) =>
      p.startsWith('./') ? p : src(p),
    ),
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'models/', 'reports/', 'datasets/*.js', 'bin/'] },
  js.configs.recommended,
  // The service's page: plain browser JavaScript, served as written.
  { files: ['web/**/*.js'], languageOptions: { globals: globals.browser, sourceType: 'script' } },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { import: importPlugin },
    settings: { 'import/resolver': { node: { extensions: ['.ts', '.js'] } } },
    rules: {
      'import/no-cycle': ['error', { ignoreExternal: true }],
      'import/no-restricted-paths': ['error', { zones: LAYERS }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-require-imports': 'off', // lazy require() keeps TensorFlow out of `mldb --help`
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true },
      ],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // Only src/db/ talks to the database: no driver and no SQL anywhere else.
    files: ['src/**/*.ts'],
    ignores: ['src/db/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['mysql2', 'mysql2/*'], message: 'only src/db/ may use the MySQL driver' },
            { group: ['**/db/identifiers'], importNames: ['escapeId'], message: 'quoting identifiers is building SQL' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: `Literal[value=${SQL}]`, message: 'SQL belongs in src/db/: call a named function there' },
        {
          selector: `TemplateElement[value.raw=${SQL}]`,
          message: 'SQL belongs in src/db/: call a named function there',
        },
      ],
    },
  },
  {
    // The Db seam speaks in fields and causes; the CLI turns them into flags and commands.
    files: ['src/db/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: String.raw`Literal[value=/(\x60mldb |(^|\s)--[a-z])/]`,
          message: 'no CLI wording in src/db/: name the field (MldbError.field) and let the CLI map it',
        },
        {
          selector: String.raw`TemplateElement[value.raw=/(\x60mldb |(^|\s)--[a-z])/]`,
          message: 'no CLI wording in src/db/: name the field (MldbError.field) and let the CLI map it',
        },
      ],
    },
  },
  {
    // The import benchmark's baseline is the original program's own statements, run as it ran them.
    files: ['src/bench/original-method.ts'],
    rules: { 'no-restricted-imports': 'off', 'no-restricted-syntax': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
  // After prettier's config, which turns max-len off: prettier wraps code at 120, strings are wrapped by hand.
  { files: ['**/*.ts'], rules: { 'max-len': ['error', { code: 120, ignoreUrls: true, ignoreRegExpLiterals: true }] } },
);

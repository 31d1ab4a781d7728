// Lint rules that encode the project's architecture (docs/architecture.md). `npm test` runs them.
import js from '@eslint/js';
import importPlugin from 'eslint-plugin-import';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Words that start an SQL statement: outside src/db/ a string holding one is a query built in the wrong place. */
const SQL = String.raw`/\b(SELECT\s[\s\S]*\bFROM|INSERT\s+INTO|UPDATE\s+\S+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|DATABASE|SERVER)|DROP\s+(TABLE|DATABASE)|ALTER\s+TABLE|GET_LOCK|SHOW\s+(TABLES|VARIABLES))\b/`;

/**
 * The folder map as import permissions (docs/architecture.md draws it): every top folder and top
 * file of src/ names what it may import besides itself, and anything else of src/ is an error.
 * Lower layers never reach up, and library layers never reach the CLI.
 */
const src = (p) => `./src/${p}`;
/** The shared top files: they import nothing of mldb's but each other. */
const SHARED = [
  'errors.ts',
  'secret.ts',
  'printable.ts',
  'image-shape.ts',
  'labels.ts',
  'version.ts',
  'process-alive.ts',
  'process-command-line.ts',
  'process-list.ts',
  'read-file.ts',
  'worker-file.ts',
  'file-lock.ts',
  'file-targets.ts',
  'server-state.ts',
];
/** What every folder may import: the shared top files, and config.ts (the settings) over them. */
const BASE = [...SHARED, 'config.ts'];
/** What the library's API (mldb.ts and the package's index.ts) is built from. */
const LIBRARY = [...BASE, 'db', 'images', 'samples', 'ingest', 'export', 'study', 'ml', 'report'];
const MAY_IMPORT = {
  'config.ts': SHARED,
  // db/ is the bottom: only it speaks SQL.
  db: BASE,
  images: BASE,
  ui: BASE, // the terminal's output (tables, progress), for commands and reports
  samples: [...BASE, 'db', 'images'],
  ingest: [...BASE, 'db', 'images'],
  export: [...BASE, 'db', 'images'],
  // The study engine over db/, knowing no objective: training (ml/) reaches it, never the reverse.
  study: [...BASE, 'db'],
  ml: [...BASE, 'db', 'images', 'samples', 'study'],
  report: [...BASE, 'db', 'images', 'samples', 'study', 'ml', 'ui'],
  // Private server processes for the demo and tests: they may register shards (db/), nothing above.
  'local-servers': [...BASE, 'db'],
  // What both servers share: HTTP pieces over db/ and errors, knowing neither server.
  http: [...BASE, 'db'],
  // The dashboard reads the database through db/ and answers through http/; the service mounts it.
  dashboard: [...BASE, 'db', 'http'],
  // The service uses the model and the database; it never reaches the CLI or the ingest pipeline.
  serve: [...BASE, 'db', 'images', 'samples', 'ml', 'http', 'dashboard'],
  // What the machine and the database have; the command that shows it owns the wording.
  doctor: [...BASE, 'db', 'local-servers', 'ml'],
  'mldb.ts': LIBRARY,
  'index.ts': [...LIBRARY, 'mldb.ts'],
};
/** The top of the map: each may import anything of src/ but these. */
const MAY_NOT_IMPORT = {
  commands: ['cli.ts', 'bench', 'index.ts'],
  'cli.ts': ['bench', 'index.ts'],
  bench: ['commands', 'cli.ts', 'index.ts'],
};
/** A zone's list for its message: the shared files by that name, then the rest. */
const named = (allowed) =>
  (SHARED.every((p) => allowed.includes(p))
    ? ['the shared top files', ...allowed.filter((p) => !SHARED.includes(p))]
    : allowed
  ).join(', ');
const LAYERS = [
  {
    target: SHARED.map(src),
    from: './src',
    except: SHARED.map((p) => `./${p}`),
    message: 'a shared top file of src/ imports only the other shared files (eslint.config.mjs, SHARED)',
  },
  ...Object.entries(MAY_IMPORT).map(([name, allowed]) => ({
    target: src(name),
    from: './src',
    except: [name, ...allowed].map((p) => `./${p}`),
    message: `src/${name} may import only ${named(allowed)} (eslint.config.mjs, MAY_IMPORT)`,
  })),
  ...Object.entries(MAY_NOT_IMPORT).map(([name, forbidden]) => ({
    target: src(name),
    from: forbidden.map(src),
    message: `src/${name} may not import ${forbidden.join(', ')} (eslint.config.mjs, MAY_NOT_IMPORT)`,
  })),
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
  // Build scripts run by npm before anything is compiled: CommonJS on Node.
  {
    files: ['scripts/**/*.js'],
    languageOptions: { globals: globals.node, sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);

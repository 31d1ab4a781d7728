import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/**
 * The import graph of src/, type-only imports included: eslint's import/no-cycle skips those, yet
 * a cycle through a type is still two modules that cannot be understood one without the other.
 * TypeScript's own scanner (preProcessFile) lists every import, export-from and dynamic import.
 */
const SRC = path.resolve(__dirname, '..', '..', 'src');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.join(dir, f));
}

/** Each file's relative imports, resolved to files of src/. */
function importGraph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.resolve(path.dirname(file), name).replace(/\.js$/, ''))
      .flatMap((base) => [`${base}.ts`, path.join(base, 'index.ts')].filter((c) => known.has(c)).slice(0, 1));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** Every cycle found by a depth-first walk, each written from its first file back to it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

const rel = (f: string) => path.relative(SRC, f);
const graph = importGraph(sourceFiles(SRC));

describe('the import graph of src/', () => {
  test('has no cycles, counting type-only imports', () => {
    // The walk resolved real edges: a dynamic import and a type-only one.
    expect(graph.get(path.join(SRC, 'commands', 'import.ts'))).toContain(path.join(SRC, 'commands', 'import-watch.ts'));
    expect(graph.get(path.join(SRC, 'commands', 'predict.ts'))).toContain(
      path.join(SRC, 'commands', 'predict-watch.ts'),
    );
    expect(cycles(graph).map((c) => c.map(rel).join(' → '))).toEqual([]);
  });

  test('commands share code through commands/shared/, not through each other', () => {
    // A command that hands its --watch mode to a module of its own, and the demo (which is the
    // other commands run in a row), are the only ones that import a sibling command.
    const allowed = new Set(['import.ts → import-watch.ts', 'predict.ts → predict-watch.ts']);
    const commands = path.join(SRC, 'commands');
    const crossings = [...graph]
      .filter(([file]) => path.dirname(file) === commands && path.basename(file) !== 'demo.ts')
      .flatMap(([file, targets]) =>
        targets
          .filter((t) => path.dirname(t) === commands)
          .filter((t) => !['context.ts', 'options.ts', 'cli-wording.ts'].includes(path.basename(t)))
          .map((t) => `${path.basename(file)} → ${path.basename(t)}`),
      )
      .filter((edge) => !allowed.has(edge));
    expect(crossings).toEqual([]);
  });

  test('the walk sees type-only and dynamic imports (a planted cycle through each is found)', () => {
    const a = path.join(SRC, 'planted-a.ts');
    const b = path.join(SRC, 'planted-b.ts');
    const scan = (text: string, from: string) =>
      ts
        .preProcessFile(text, true, true)
        .importedFiles.map((i) => path.resolve(path.dirname(from), i.fileName.replace(/\.js$/, '')) + '.ts');
    const planted = new Map([
      [a, scan("import type { B } from './planted-b';", a)],
      [b, scan("export const load = () => import('./planted-a.js');", b)],
    ]);
    expect(cycles(planted).map((c) => c.map(rel))).toEqual([['planted-a.ts', 'planted-b.ts', 'planted-a.ts']]);
  });
});

import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// Layers point down: lib/ (the library) knows nothing of harness/ or fixtures/, harness/ (shipped: service, CLI,
// scheduler, bench) nothing of fixtures/ (test fakes and engine scripts), and only the CLI itself imports the CLI.
// Checked on the import graph of every .ts file, so a new violation fails here, not in a user's install.

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const scanned = ['lib', 'harness', 'fixtures'];

interface Rule {
  readonly what: string;
  /** Applies to imports made by files under this directory... */
  readonly from: string;
  /** ...of files under one of these. */
  readonly forbidden: readonly string[];
  /** ...unless the importer is under one of these. */
  readonly except?: readonly string[];
}

const rules: readonly Rule[] = [
  { what: 'lib/ imports nothing from harness/ or fixtures/', from: 'lib/', forbidden: ['harness/', 'fixtures/', 'test/'] },
  { what: 'harness/ imports nothing from fixtures/', from: 'harness/', forbidden: ['fixtures/', 'test/'] },
  { what: 'nothing outside harness/cli/ imports the CLI', from: 'harness/', forbidden: ['harness/cli/'], except: ['harness/cli/'] },
];

async function tsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'));
}

// `import x from '…'`, `import type {…} from '…'`, `export … from '…'`, `import '…'`, `import('…')`; the
// specifier is the last quoted string before the statement ends, so multi-line import lists are covered.
const importPattern = /(?:^|[;\n}])\s*(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The repository paths a file imports (relative specifiers only; packages are not layers). */
export function importsOf(file: string, source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(importPattern)) {
    const specifier = match[1] ?? match[2];
    if (specifier === undefined || !specifier.startsWith('.')) continue;
    const target = resolve(root, dirname(file), specifier).replace(/\.js$/, '.ts');
    found.push(relative(root, target).split(sep).join('/'));
  }
  return found;
}

async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const dir of scanned) {
    for (const file of await tsFiles(dir)) graph.set(file, importsOf(file, await readFile(join(root, file), 'utf8')));
  }
  return graph;
}

test('the import parser sees every form of import', (t) => {
  const source = [
    "import test from 'ava';",
    "import { a, b } from '../lib/a.js';",
    'import {\n  c,\n  type D,\n} from "../harness/c.js";',
    "import type { E } from './e.js';",
    "export { f } from '../fixtures/f.js';",
    "export * from './g.js';",
    "import './side-effect.js';",
    "const h = await import('./h.js');",
    "const text = 'import nothing from \"./not-an-import.js\"';",
  ].join('\n');
  t.deepEqual(importsOf('lib/x.ts', source), ['lib/a.ts', 'harness/c.ts', 'lib/e.ts', 'fixtures/f.ts', 'lib/g.ts', 'lib/side-effect.ts', 'lib/h.ts']);
});

test('layers point down: lib → nothing above it, harness → no fixtures, only the CLI imports the CLI', async (t) => {
  const graph = await importGraph();
  t.true(graph.size > 50, `the graph holds the project's files (${graph.size})`);
  const violations: string[] = [];
  for (const [file, imports] of graph) {
    for (const rule of rules) {
      if (!file.startsWith(rule.from) || rule.except?.some((dir) => file.startsWith(dir))) continue;
      for (const imported of imports) {
        if (rule.forbidden.some((dir) => imported.startsWith(dir))) violations.push(`${file} -> ${imported}`);
      }
    }
  }
  t.deepEqual(violations, [], `imports against the layers:\n${violations.join('\n')}`);
});

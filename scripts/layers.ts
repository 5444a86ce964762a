// The import graph of src/ and the layering rule it must keep: imports run one way,
// client → http → policy → (errors, clock, options), with transport beside policy; the features
// beside the client (pool, probe, health) build on the layers below them. Run it to print the
// graph folder by folder (`npm run layers`); test/layers.test.ts fails on any upward edge or cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What each folder of src/ may import (besides itself). `index.ts` may import anything. */
export const ALLOWED: Readonly<Record<string, readonly string[]>> = Object.freeze({
  errors: [],
  clock: [],
  options: ['errors', 'clock'],
  policy: ['errors', 'clock', 'options'],
  transport: ['errors', 'clock', 'options'],
  http: ['policy', 'transport', 'errors', 'clock', 'options'],
  client: ['http', 'policy', 'transport', 'errors', 'clock', 'options'],
  pool: ['policy', 'transport', 'errors', 'clock', 'options'],
  probe: ['transport', 'errors', 'clock', 'options'],
  health: ['client', 'http', 'pool', 'errors', 'clock', 'options'],
  otel: ['client', 'http', 'pool', 'transport', 'errors', 'clock', 'options'],
  bin: ['probe'],
});

/** One import of one file of src/ by another (paths relative to src/). */
export interface Edge {
  readonly from: string;
  readonly to: string;
}

const IMPORT = /^\s*(?:import|export)\b[^'";]*?\bfrom\s+['"](\.[^'"]+)['"]/gm;

/** Every relative import between the files of `src`. */
export function importGraph(src: string): Edge[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  walk(src);
  const edges: Edge[] = [];
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const target = resolve(dirname(file), match[1] as string);
      edges.push({ from: relative(src, file), to: relative(src, target) });
    }
  }
  return edges;
}

/** The top folder of a path under src/ (`index` for src/index.ts). */
export function folderOf(path: string): string {
  const slash = path.indexOf('/');
  return slash === -1 ? path.replace(/\.ts$/, '') : path.slice(0, slash);
}

/** Imports that break {@link ALLOWED}. */
export function upwardEdges(edges: readonly Edge[]): Edge[] {
  return edges.filter(({ from, to }) => {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a === b || a === 'index') return false;
    const allowed = ALLOWED[a];
    return allowed === undefined || !allowed.includes(b);
  });
}

/** Groups of files that import each other in a circle (Tarjan's strongly connected components). */
export function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    if (!next.has(to)) next.set(to, []);
    next.get(from)?.push(to);
  }
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, order.get(w) as number));
    }
    if (low.get(v) === order.get(v)) {
      const group: string[] = [];
      let w: string;
      do {
        w = stack.pop() as string;
        onStack.delete(w);
        group.push(w);
      } while (w !== v);
      if (group.length > 1) found.push(group.sort());
    }
  };
  for (const v of next.keys()) if (!order.has(v)) visit(v);
  return found.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');
  const edges = importGraph(src);
  const byFolders = new Map<string, number>();
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (a !== b) byFolders.set(`${a} → ${b}`, (byFolders.get(`${a} → ${b}`) ?? 0) + 1);
  }
  console.log(`imports between the folders of src/ (${edges.length} imports in all):`);
  for (const [pair, n] of [...byFolders].sort()) console.log(`  ${pair.padEnd(24)} ${n}`);
  const up = upwardEdges(edges);
  const circles = cycles(edges);
  for (const { from, to } of up) console.log(`upward: ${from} → ${to}`);
  for (const group of circles) console.log(`cycle: ${group.join(', ')}`);
  console.log(
    up.length === 0 && circles.length === 0 ? 'no upward import, no cycle' : 'the layering is broken',
  );
  process.exitCode = up.length === 0 && circles.length === 0 ? 0 : 1;
}

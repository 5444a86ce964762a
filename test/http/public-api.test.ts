// Bulwark uses its dependencies through what they export: no file under src/ loads a path inside a
// package that the package does not export (`undici/lib/...` and the like: undici has no
// `exports` map, so none of its files is public), so a dependency's minor release that moves its
// private files cannot break `import 'bulwark'`.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { it } from 'node:test';

const SRC = join(import.meta.dirname, '..', '..', 'src');
const require = createRequire(import.meta.url);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The file without its comments (crudely: enough for import lines). */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

// A bare specifier with a path after the package name: 'undici/lib/x', '@scope/pkg/x'.
const DEEP_IMPORT =
  /(?:from\s+|import\s*\(\s*|require\s*\(\s*)['"]((?:@[^/'"]+\/)?[^./'"@][^/'"]*)\/([^'"]+)['"]/g;

/** Whether `pkg` lists `./subpath` in its `exports` map. */
function exported(pkg: string, subpath: string): boolean {
  const manifest = JSON.parse(readFileSync(require.resolve(`${pkg}/package.json`), 'utf8')) as {
    exports?: Record<string, unknown>;
  };
  return manifest.exports !== undefined && `./${subpath}` in manifest.exports;
}

it('no source file loads a path a dependency does not export, nor builds a require to do so', () => {
  const found: string[] = [];
  for (const file of sources(SRC)) {
    const text = code(readFileSync(file, 'utf8'));
    for (const match of text.matchAll(DEEP_IMPORT)) {
      const [, pkg, subpath] = match as unknown as [string, string, string];
      if (pkg === 'node:' || pkg.startsWith('node:')) continue;
      if (!exported(pkg, subpath)) found.push(`${file}: ${pkg}/${subpath}`);
    }
    if (/\bcreateRequire\b/.test(text)) found.push(`${file}: createRequire`);
  }
  assert.deepEqual(found, []);
});

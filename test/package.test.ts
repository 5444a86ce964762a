// The package's manifest and its documentation agree: every subpath in package.json's `exports` is
// built from a source entry that TypeDoc documents under the import path's name (`@module`), that
// tsconfig.json maps for the tests and examples, and that ships with its source (so the maps
// resolve). Whatever exports exist are covered, so a new subpath cannot be half-registered.
// scripts/pack-smoke.ts checks the packed tarball itself.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';

const read = (file: string): string => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
/** tsconfig files are JSON with comments allowed; these have none, but be lenient about trailing commas. */
const json = (file: string): Record<string, unknown> => JSON.parse(read(file).replace(/,(\s*[}\]])/g, '$1'));

interface Manifest {
  name: string;
  exports: Record<string, string | { types?: string; default?: string }>;
  bin: Record<string, string>;
  files: string[];
  scripts: Record<string, string>;
}
const pkg = json('package.json') as unknown as Manifest;
const typedoc = json('typedoc.json') as { entryPoints: string[]; readme?: string };
const tsconfig = json('tsconfig.json') as { compilerOptions: { paths: Record<string, string[]> } };
const build = json('tsconfig.build.json') as {
  compilerOptions: { stripInternal?: boolean; sourceMap?: boolean; declarationMap?: boolean };
};

/** `./dist/pool/drivers/pg.js` → `src/pool/drivers/pg.ts`. */
const sourceOf = (built: string): string =>
  built.replace(/^\.\/dist\//, 'src/').replace(/\.(d\.ts|js)$/, '.ts');

const subpaths = Object.entries(pkg.exports).filter(([key]) => key !== './package.json');

describe('package.json exports', () => {
  test('there is the root export and every one is a types + default pair under dist/', () => {
    assert.ok(pkg.exports['.'], 'the root export');
    for (const [key, target] of subpaths) {
      assert.equal(typeof target, 'object', key);
      const { types, default: js } = target as { types?: string; default?: string };
      assert.match(types ?? '', /^\.\/dist\/.+\.d\.ts$/, `${key} types`);
      assert.match(js ?? '', /^\.\/dist\/.+\.js$/, `${key} default`);
      assert.equal(sourceOf(types!), sourceOf(js!), `${key}: types and code come from one source`);
    }
  });

  for (const [key, target] of subpaths) {
    const importPath = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`;
    const source = sourceOf((target as { default: string }).default);

    test(`${importPath}: its source exists, TypeDoc documents it as "${importPath}", tsconfig maps it`, () => {
      assert.ok(existsSync(new URL(`../${source}`, import.meta.url)), `${source} exists`);
      assert.ok(typedoc.entryPoints.includes(source), `typedoc.json entryPoints has ${source}`);
      const head = read(source).slice(0, read(source).search(/\n(import|export)\b/));
      const modules = [...head.matchAll(/@module\s+(\S+)/g)].map((m) => m[1]);
      assert.deepEqual(modules, [importPath], `${source} says @module ${importPath} in its first comment`);
      assert.deepEqual(
        tsconfig.compilerOptions.paths[importPath],
        [`./${source}`],
        `tsconfig paths ${importPath}`,
      );
    });
  }

  test('TypeDoc documents nothing that is not exported, and lands on the README', () => {
    const exported = new Set(subpaths.map(([, t]) => sourceOf((t as { default: string }).default)));
    assert.deepEqual(
      typedoc.entryPoints.filter((e) => !exported.has(e)),
      [],
    );
    assert.equal(typedoc.readme, 'README.md');
    const mapped = Object.keys(tsconfig.compilerOptions.paths).filter((p) => p.startsWith(pkg.name));
    assert.equal(mapped.length, subpaths.length, 'one tsconfig path per export');
  });
});

describe('what the tarball holds', () => {
  test('prepack builds, so `npm pack` from a clean clone has dist/', () => {
    assert.match(pkg.scripts.prepack ?? '', /npm run build/);
  });

  test('the maps ship with the source they point to', () => {
    assert.equal(build.compilerOptions.sourceMap, true);
    assert.equal(build.compilerOptions.declarationMap, true);
    assert.ok(pkg.files.includes('dist') && pkg.files.includes('src'), `files: ${pkg.files.join(', ')}`);
  });

  test('declarations are built without @internal members', () => {
    assert.equal(build.compilerOptions.stripInternal, true);
  });

  test('the bin is built from src/bin', () => {
    for (const [name, file] of Object.entries(pkg.bin)) {
      assert.ok(existsSync(new URL(`../${sourceOf(file)}`, import.meta.url)), `${name}: ${sourceOf(file)}`);
      assert.match(read(sourceOf(file)), /^#!\/usr\/bin\/env node\n/, `${name} starts with a shebang`);
    }
  });
});

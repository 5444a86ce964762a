// `node --import ./scripts/import-from-source.ts file.ts`: `bulwark` and its subpaths resolve to
// their sources (src/, run with Node's type stripping) instead of the built dist/, through the
// package's own `exports` map (`./dist/x.js` → `./src/x.ts`). So the examples run against the code
// as it is, with no build step and no stale dist/; scripts/pack-smoke.ts checks the built package.
import { readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const root = new URL('..', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  name: string;
  exports: Record<string, string | { default?: string }>;
};

const sources = new Map<string, string>();
for (const [key, target] of Object.entries(manifest.exports)) {
  const built = typeof target === 'string' ? target : target.default;
  if (built === undefined || !/^\.\/dist\/.+\.js$/.test(built)) continue;
  const specifier = key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`;
  sources.set(specifier, new URL(built.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'), root).href);
}

registerHooks({
  resolve(specifier, context, nextResolve) {
    const source = sources.get(specifier);
    return source === undefined ? nextResolve(specifier, context) : { url: source, shortCircuit: true };
  },
});

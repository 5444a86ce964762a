// The layering of src/ (scripts/layers.ts): imports run one way, client → http → policy →
// (errors, clock, options), transport beside policy, and no file imports itself in a circle.
import assert from 'node:assert/strict';
import { dirname, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ALLOWED, cycles, folderOf, importGraph, upwardEdges } from '../scripts/layers.ts';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

describe('the import graph of src/', () => {
  const edges = importGraph(src);

  it('reads the graph (every folder of src/ is in the rule)', () => {
    assert.ok(edges.length > 100, `${edges.length} imports`);
    for (const { from } of edges) {
      const folder = folderOf(from);
      assert.ok(folder === 'index' || folder in ALLOWED, `${folder}/ has no place in the layering rule`);
    }
  });

  it('has no upward edge: policy/ and transport/ import nothing above them, http/ nothing of client/', () => {
    assert.deepEqual(
      upwardEdges(edges).map(({ from, to }) => `${from} → ${to}`),
      [],
    );
  });

  it('has no cycle', () => {
    assert.deepEqual(cycles(edges), []);
  });

  it('the checks see what they look for', () => {
    const broken = [
      { from: 'policy/retry.ts', to: 'http/call.ts' },
      { from: 'http/call.ts', to: 'policy/retry.ts' },
      { from: 'a.ts', to: 'b.ts' },
      { from: 'b.ts', to: 'a.ts' },
    ];
    assert.deepEqual(upwardEdges(broken), [broken[0], broken[2], broken[3]]);
    assert.deepEqual(cycles(broken), [
      ['a.ts', 'b.ts'],
      ['http/call.ts', 'policy/retry.ts'],
    ]);
  });
});

// The bounded keyed map on a virtual clock: lookups, LRU eviction past maxKeys, idle expiry with no
// timer per key, busy values kept, option validation — and, in a child process with the heap
// measured, that 100 000 distinct keys (a key per user id) leave at most maxKeys breakers alive.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { KEY_LIMIT_DEFAULTS, KeyedMap, resolveKeyLimits } from '../../src/policy/keyed.ts';

function counter(limits = { maxKeys: 3, keyIdleTimeout: 1_600 }, busy = new Set<number>()) {
  const clock = new VirtualClock();
  const disposed: number[] = [];
  let made = 0;
  const map = new KeyedMap(limits, clock, {
    create: () => ++made,
    busy: (v) => busy.has(v),
    dispose: (v) => disposed.push(v),
  });
  return { clock, map, disposed, busy };
}

describe('KeyedMap', () => {
  it('one value per key, made on first use', () => {
    const { map } = counter();
    assert.equal(map.get('a'), 1);
    assert.equal(map.get('b'), 2);
    assert.equal(map.get('a'), 1);
    assert.equal(map.size, 2);
    assert.deepEqual(
      [...map.entries()],
      [
        ['a', 1],
        ['b', 2],
      ],
    );
  });

  it('past maxKeys the idlest key is evicted (and disposed)', async () => {
    const { clock, map, disposed } = counter();
    map.get('a');
    await clock.advance(200);
    map.get('b');
    await clock.advance(200);
    map.get('c');
    await clock.advance(200);
    map.get('a'); // used again (more than the slack, 100 ms, after its last move): now the newest
    map.get('d');
    assert.deepEqual([...map.entries()].map(([k]) => k).sort(), ['a', 'c', 'd']);
    assert.deepEqual(disposed, [2]);
    assert.deepEqual(map.dropped, { expired: 0, evicted: 1 });
  });

  it('keys idle for keyIdleTimeout expire as new keys arrive, with no timer per key', async () => {
    const { clock, map, disposed } = counter({ maxKeys: 100, keyIdleTimeout: 1_600 });
    map.get('a');
    map.get('b');
    assert.equal(clock.pending, 0, 'no timer');
    await clock.advance(1_000);
    map.get('b');
    await clock.advance(600);
    map.get('c'); // a is 1 600 ms idle: gone; b 600 ms: kept
    assert.deepEqual(
      [...map.entries()].map(([k]) => k),
      ['b', 'c'],
    );
    assert.deepEqual(disposed, [1]);
    assert.deepEqual(map.dropped, { expired: 1, evicted: 0 });
  });

  it('a busy value is neither expired nor evicted; only busy ones in front let the map grow', async () => {
    const busy = new Set<number>([1]);
    const { clock, map, disposed } = counter({ maxKeys: 2, keyIdleTimeout: 1_000 }, busy);
    map.get('a'); // 1, busy
    map.get('b'); // 2
    map.get('c'); // evicts b, not a
    assert.deepEqual(disposed, [2]);
    await clock.advance(5_000);
    map.get('d'); // c expires; a is idle but busy
    assert.deepEqual(
      [...map.entries()].map(([k]) => k),
      ['a', 'd'],
    );
    busy.add(4);
    map.get('e'); // a and d both busy: nothing to evict
    assert.equal(map.size, 3);
  });

  it('validates maxKeys and keyIdleTimeout', () => {
    assert.deepEqual(resolveKeyLimits(undefined, undefined, 'x'), KEY_LIMIT_DEFAULTS);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2_000_000, '10', null]) {
      assert.throws(() => resolveKeyLimits(bad, undefined, 'breaker'), InvalidOptionError, String(bad));
    }
    for (const bad of [0, -1, 2 ** 31, Number.NaN, '1', null]) {
      assert.throws(() => resolveKeyLimits(undefined, bad, 'breaker'), /breaker\.keyIdleTimeout/);
    }
  });
});

describe('KeyedMap memory', () => {
  it('100 000 distinct keys (a breaker each) leave at most maxKeys alive; the heap stays bounded', async () => {
    const child = fileURLToPath(new URL('../helpers/keyed-memory.ts', import.meta.url));
    const run = async (keys: number): Promise<{ before: number; after: number; live: number }> => {
      const { stdout } = await promisify(execFile)(process.execPath, [
        '--expose-gc',
        child,
        String(keys),
        '1000',
        '60000',
      ]);
      return JSON.parse(stdout) as { before: number; after: number; live: number };
    };
    const small = await run(1_000);
    const large = await run(100_000);
    assert.equal(small.live, 1_000);
    assert.ok(large.live <= 1_000, `${large.live} live keys`);
    const perKey = (small.after - small.before) / 1_000;
    const growth = large.after - large.before;
    // 100 times the keys, the same live ones: the heap grows like 1 000 keys, not 100 000.
    assert.ok(
      growth < 3 * 1_000 * perKey + 2 * 1024 * 1024,
      `${growth} B for 100 000 keys (${perKey} B per key)`,
    );
    console.log(
      `# heap: ${Math.round(perKey)} B per live key; 100 000 keys leave ${large.live} live, +${(growth / 1048576).toFixed(1)} MB (unbounded: ~${((perKey * 100_000) / 1048576).toFixed(0)} MB)`,
    );
  });
});

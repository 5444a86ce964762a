/**
 * Keeps the benches honest in CI: the fleet simulator is deterministic for a seed (a tiny fleet),
 * the OCC reproduction too, and a bad knob gives a usage message and exit code 2, never a stack.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ALGORITHMS, occRun } from '../../bench/jitter/occ.ts';
import { parseKnobs, UsageError } from '../../bench/lib/args.ts';
import type { Scenario } from '../../bench/storm/scenario.ts';
import { parseFaults } from '../../bench/storm/scenario.ts';
import { simulate } from '../../bench/storm/sim.ts';
import { STRATEGIES } from '../../bench/storm/strategies.ts';

const tiny: Scenario = {
  clients: 20,
  rate: 4,
  duration: 8_000,
  capacity: 120,
  serviceTime: 20,
  queue: 30,
  rtt: 2,
  faults: [{ kind: 'outage', from: 2_000, to: 5_000 }],
  bucket: 100,
  seed: 7,
};
const bulwark = STRATEGIES.find((s) => s.id === 'bulwark')!;

describe('fleet simulator', () => {
  it('gives the same result for the same seed', async () => {
    const a = await simulate(tiny, bulwark);
    const b = await simulate(tiny, bulwark);
    assert.deepEqual(a.summary, b.summary);
    assert.deepEqual(a.load, b.load);
    assert.ok(a.summary.calls > 400, `a tiny fleet still makes calls (${a.summary.calls})`);
    assert.equal(a.summary.breaker?.attemptsWhileOpen, 0);
  });

  it('differs for another seed, and the budget caps a full outage', async () => {
    const budget = STRATEGIES.find((s) => s.id === 'budget')!;
    const a = await simulate(tiny, budget);
    const b = await simulate({ ...tiny, seed: 8 }, budget);
    assert.notDeepEqual(a.load, b.load);
    // 20 clients × 10 tokens over ~240 calls in the outage: at most 1 + 200/240 and below 3.
    assert.ok(a.summary.amplification < 2, `amplification ${a.summary.amplification}`);
  });

  it('a slow tail: the hedge strategy hedges the slow calls and cuts their latency', async () => {
    const [fault] = parseFaults(['slowtail:0.02x50@0-8']);
    assert.deepEqual(fault, { kind: 'slowtail', from: 0, to: 8_000, rate: 0.02, factor: 50 });
    const s: Scenario = { ...tiny, capacity: 2_000, queue: 500, faults: [fault!] };
    const hedge = STRATEGIES.find((x) => x.id === 'hedge')!;
    const without = await simulate(s, bulwark);
    const with_ = await simulate(s, hedge);
    assert.equal(without.hedges.sent, 0);
    assert.ok(with_.hedges.sent > 0 && with_.hedges.won > 0, JSON.stringify(with_.hedges));
    assert.ok(without.summary.p99 >= 900, `p99 without hedging ${without.summary.p99}`);
    assert.ok(with_.summary.p99 < 200, `p99 with hedging ${with_.summary.p99}`);
    // One upstream request per hedge, and the hedges are about the slow share.
    assert.equal(with_.summary.attempts - without.summary.attempts, with_.hedges.sent);
    assert.ok(with_.hedges.sent < 0.1 * with_.summary.calls);
  });
});

describe('the defaults with the fleet budget (fleet-budget-breaker)', () => {
  it('keep the breaker, share the budget, and send less in an outage than the local defaults', async () => {
    const both = STRATEGIES.find((x) => x.id === 'fleet-budget-breaker')!;
    assert.equal(both.fleet, 'budget');
    assert.equal(both.options.breaker, undefined, 'the breaker stays at its defaults');
    // A fleet of one-client processes (shard 1), as in bench/README's table.
    const local = await simulate(tiny, bulwark, { shard: 1 });
    const shared = await simulate(tiny, both, { shard: 1 });
    assert.ok(shared.summary.calls > 400);
    // Seed 7: about 1.10 against 1.18; the processes' first retries go out blind without the fleet.
    assert.ok(
      shared.summary.amplification < local.summary.amplification,
      `fleet budget ${shared.summary.amplification} against local ${local.summary.amplification}`,
    );
  });
});

describe('AWS OCC reproduction', () => {
  it('is deterministic for a seed and every write lands', () => {
    const full = ALGORITHMS.find((a) => a.id === 'full')!;
    const a = occRun(20, full, 3);
    assert.deepEqual(a, occRun(20, full, 3));
    assert.ok(a.calls >= 20);
  });
});

describe('bench knobs', () => {
  const cmd = {
    name: 'x',
    summary: 'test',
    knobs: {
      clients: { type: 'integer', default: 10, min: 1, help: 'clients' },
      mode: { type: 'string', default: 'a', choices: ['a', 'b'], help: 'mode' },
    },
  } as const;

  it('parses and defaults', () => {
    assert.deepEqual(parseKnobs(cmd, ['--clients', '5']), { clients: 5, mode: 'a' });
    assert.equal(parseKnobs(cmd, ['--help']), 'help');
  });

  it('rejects bad knobs with a UsageError', () => {
    for (const argv of [
      ['--clients', 'x'],
      ['--clients', '0'],
      ['--clients', '1.5'],
      ['--mode', 'c'],
      ['--nope'],
      ['extra'],
    ]) {
      assert.throws(() => parseKnobs(cmd, argv), UsageError, argv.join(' '));
    }
    assert.throws(() => parseFaults(['outage@5-2']), /end must be after/);
    assert.throws(() => parseFaults(['slowtail:2x50@0-5']), /rate in \[0, 1\]/);
    assert.throws(() => parseFaults(['slowtail:0.1x0.5@0-5']), /factor ≥ 1/);
  });

  it('a bench exits 2 with a usage message on a bad knob, and 0 on --help', () => {
    const script = fileURLToPath(new URL('../../bench/storm/storm.ts', import.meta.url));
    for (const argv of [['--clients', 'many'], ['--fault', 'flood@1-2'], ['--bogus']]) {
      const r = spawnSync(process.execPath, [script, ...argv], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /usage: /);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const help = spawnSync(process.execPath, [script, '--help'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--clients/);
  });

  it('breaker-options: bad sets exit 2; a set runs and is written', () => {
    const script = fileURLToPath(new URL('../../bench/storm/breaker-options.ts', import.meta.url));
    for (const argv of [
      ['--sets', ':window=5'],
      ['--sets', 'a:window'],
      ['--sets', 'a:window=x'],
      ['--sets', 'a:windw=5'],
      ['--sets', 'a:window=-5'],
      ['--sets', 'a,a:window=5000'],
      ['--scenarios', 'flood'],
    ]) {
      const r = spawnSync(process.execPath, [script, '--quiet', ...argv], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-breaker-options-'));
    try {
      const r = spawnSync(
        process.execPath,
        [script, '--quiet', '--scenarios', 'cold', '--sets', 'now,m5:minimumCalls=5', '--name', 'b'],
        { encoding: 'utf8', timeout: 120_000, env: { ...process.env, BENCH_RESULTS_DIR: dir } },
      );
      assert.equal(r.status, 0, r.stderr);
      const json = JSON.parse(readFileSync(join(dir, 'b.json'), 'utf8')) as {
        results: { scenario: string; set: string; breaker: object; success: number }[];
      };
      assert.deepEqual(
        json.results.map((x) => [x.scenario, x.set, x.breaker]),
        [
          ['cold', 'now', {}],
          ['cold', 'm5', { minimumCalls: 5 }],
        ],
      );
      for (const x of json.results) assert.ok(x.success > 99, `${x.set}: ${x.success} % at 5 % failures`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

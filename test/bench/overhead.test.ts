/**
 * The overhead bench's conduct, not its figures (speed is measured in bench/, never asserted
 * here): every case runs in worker processes of its own, fresh ones every `--recycle` rounds,
 * every turn is recorded, and the bench exits once it is done (no worker left holding it open);
 * `--shared` runs them all in the bench's process. A bad knob gets a usage message and exit code 2.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('../../bench/overhead/overhead.ts', import.meta.url));
const worker = fileURLToPath(new URL('../../bench/overhead/worker.ts', import.meta.url));

/** What the bench writes (the fields these tests read). */
interface Written {
  isolated: boolean;
  recycleRounds: number;
  cases: { id: string; samples: number[]; cpuMicrosPerRequest: { samples: number[] } }[];
}

/**
 * Runs the bench for 4 short rounds of raw undici and Bulwark's client.request, with `knobs`
 * added, into a results directory of its own; returns its output and what it wrote.
 */
function runBench(
  knobs: string[],
  cases = 'undici-request,bulwark-request',
): { stdout: string; out: Written } {
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-overhead-'));
  try {
    const argv = [
      script,
      ...knobs,
      ...['--rounds', '4', '--duration', '100', '--warmup', '100', '--settle', '0', '--inflight', '4'],
      ...['--quiet', '--cases', cases],
    ];
    const r = spawnSync(process.execPath, argv, {
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, BENCH_RESULTS_DIR: dir },
    });
    assert.equal(r.status, 0, r.stderr);
    return { stdout: r.stdout, out: JSON.parse(readFileSync(join(dir, 'overhead.json'), 'utf8')) as Written };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('overhead bench', () => {
  it('runs each case in worker processes of its own, and records every turn', () => {
    const { stdout, out } = runBench(['--recycle', '2']);
    assert.equal(out.isolated, true);
    assert.equal(out.recycleRounds, 2);
    assert.deepEqual(
      out.cases.map((c) => c.id),
      ['undici-request', 'bulwark-request'],
    );
    for (const c of out.cases) {
      assert.equal(c.samples.length, 4, `${c.id}: one sample per round`);
      assert.ok(
        c.samples.every((x) => x > 0),
        `${c.id}: every turn made requests`,
      );
      assert.equal(c.cpuMicrosPerRequest.samples.length, 4);
    }
    assert.match(stdout, /Bulwark client\.request/);
  });

  it('runs the HTTP/2 cases against their own h2 upstream, and exits once done', () => {
    const h2 = ['undici-h2-request', 'bulwark-h2-request', 'undici-h2-fetch', 'bulwark-h2-fetch'];
    const { stdout, out } = runBench([], h2.join(','));
    assert.deepEqual(
      out.cases.map((c) => c.id),
      h2,
    );
    for (const c of out.cases) assert.ok(c.samples.length === 4 && c.samples.every((x) => x > 0), c.id);
    assert.match(stdout, /client\.request over h2 ÷ undici Pool\.request over h2/);
    assert.match(stdout, /client\.fetch over h2 ÷ undici fetch over h2/);
  });

  it('runs every case in the bench process itself with --shared', () => {
    const { out } = runBench(['--shared']);
    assert.equal(out.isolated, false);
    assert.deepEqual(
      out.cases.map((c) => c.samples.length),
      [4, 4],
    );
  });

  it('runs the official undici instrumentation against its twin, recording spans, and not with --shared', () => {
    const { stdout } = runBench([], 'undici-request,undici-request-otel');
    assert.match(
      stdout,
      /undici Pool\.request with the official undici instrumentation × without: \d\.\d{3} \[/,
    );
    // Each OTel case throws at close if its exporters received nothing; BENCH_OTEL_DEBUG says what.
    const dir = mkdtempSync(join(tmpdir(), 'bulwark-overhead-'));
    try {
      const argv = [script, '--rounds', '4', '--duration', '100', '--warmup', '100', '--settle', '0'];
      const r = spawnSync(
        process.execPath,
        [...argv, '--inflight', '4', '--quiet', '--cases', 'undici-fetch,undici-fetch-otel'],
        {
          encoding: 'utf8',
          timeout: 60_000,
          env: { ...process.env, BENCH_RESULTS_DIR: dir, BENCH_OTEL_DEBUG: '1' },
        },
      );
      assert.equal(r.status, 0, r.stderr);
      const spans = /undici-fetch-otel: (\d+) spans and (\d+) metric data points exported/.exec(r.stderr);
      assert.ok(spans !== null && Number(spans[1]) > 0 && Number(spans[2]) > 0, r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const shared = spawnSync(
      process.execPath,
      [script, '--shared', '--rounds', '4', '--cases', 'undici-request,undici-request-otel'],
      { encoding: 'utf8', timeout: 20_000 },
    );
    assert.equal(shared.status, 2, shared.stderr);
    assert.match(shared.stderr, /instrument every undici request of their process/);
  });

  it('refuses a bad knob, and the worker alone, with exit code 2', () => {
    const r = spawnSync(process.execPath, [script, '--recycle', '-1'], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /usage: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    const w = spawnSync(process.execPath, [worker], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(w.status, 2);
    assert.match(w.stderr, /forked by bench\/overhead\/overhead\.ts/);
  });
});

/**
 * The bench runner (`npm run bench`): every bench, one after another, each in its own process
 * (so one bench's JIT state and heap do not colour the next). By default a quick version of each
 * (under two minutes on two cores), writing to `bench/results/quick/`; `--full` runs their
 * defaults and writes to `bench/results/`. After the run it collects the DESIGN.md targets from
 * the results files and prints them together.
 *
 *   npm run bench [-- --full] [-- --only storm,overhead]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, main, UsageError } from './lib/args.ts';

/** One bench: its script, the quick and full arguments, and the results files it writes. */
interface Bench {
  readonly id: string;
  readonly kind: 'micro' | 'macro' | 'simulation';
  readonly script: string;
  readonly quick: readonly string[];
  readonly full: readonly string[];
  readonly results: readonly string[];
}

const BENCHES: readonly Bench[] = [
  {
    id: 'policy-cpu',
    kind: 'micro',
    script: 'overhead/policy-cpu.ts',
    quick: ['--rounds', '4', '--calls', '50000'],
    full: [],
    results: ['policy-cpu'],
  },
  {
    id: 'dns-cache',
    kind: 'micro',
    script: 'dns-cache.ts',
    quick: ['--rounds', '4', '--hits', '50000', '--lookups', '500'],
    full: [],
    results: ['dns-cache'],
  },
  {
    id: 'pool',
    kind: 'micro',
    script: 'pool.ts',
    quick: ['--ops', '50000', '--rounds', '4', '--no-drop'],
    full: [],
    results: ['pool'],
  },
  {
    id: 'overhead',
    kind: 'macro',
    script: 'overhead/overhead.ts',
    quick: ['--rounds', '4', '--duration', '500'],
    full: [],
    results: ['overhead'],
  },
  {
    id: 'aws-occ',
    kind: 'simulation',
    script: 'jitter/aws-occ.ts',
    quick: ['--runs', '20'],
    full: [],
    results: ['aws-occ'],
  },
  {
    id: 'storm',
    kind: 'simulation',
    script: 'storm/storm.ts',
    quick: ['--clients', '300', '--duration', '40', '--outage', '20'],
    full: [],
    results: ['storm-outage'],
  },
  {
    id: 'storm-errors',
    kind: 'simulation',
    script: 'storm/storm.ts',
    quick: [
      '--clients',
      '300',
      '--duration',
      '30',
      '--fault',
      'errors:0.05@0-30',
      '--strategies',
      'none,full,budget,bulwark',
    ],
    full: ['--fault', 'errors:0.05@0-60'],
    results: ['storm-errors'],
  },
  {
    id: 'sweep',
    kind: 'simulation',
    script: 'storm/sweep.ts',
    quick: ['--clients', '100', '--rates', '0.3,1,3,10', '--outage', '20'],
    full: [],
    results: ['sweep'],
  },
  {
    id: 'outlier',
    kind: 'macro',
    script: 'outlier/ejection.ts',
    quick: ['--healthy', '1', '--failing', '6', '--cases', 'ejection'],
    full: [],
    results: ['outlier-ejection'],
  },
  {
    id: 'crosscheck',
    kind: 'macro',
    script: 'storm/crosscheck.ts',
    quick: ['--duration', '20', '--outage', '6', '--outage-at', '6', '--strategies', 'budget,bulwark'],
    full: [],
    results: ['crosscheck'],
  },
];

const knobs = {
  full: {
    type: 'boolean',
    default: false,
    help: 'run each bench with its own defaults (minutes) instead of the quick version',
  },
  only: {
    type: 'list',
    default: BENCHES.map((b) => b.id),
    choices: BENCHES.map((b) => b.id),
    help: 'benches to run',
  },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/run.ts',
  summary: 'Runs every bench (a quick version by default) and prints the DESIGN.md targets they check.',
  knobs,
  examples: ['npm run bench', 'npm run bench -- --full', 'npm run bench -- --only storm,aws-occ'],
};

const here = fileURLToPath(new URL('./', import.meta.url));

function run(script: string, args: readonly string[], resultsDir: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${here}${script}`, ...args], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_RESULTS_DIR: resultsDir },
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

const TARGET_LABELS: Readonly<Record<string, string>> = {
  'policy-cpu': 'policy CPU ≤ 1 µs per call (policies on − off)',
  'dns-cache': 'a DNS cache hit ≤ 2 µs',
};

/** The targets a results file reports, whatever the bench (`targets`, `checks` or `target`). */
function targetsOf(dir: string, name: string): { target: string; met: boolean; measured: string }[] {
  const file = `${dir}${name}.json`;
  if (!existsSync(file)) return [];
  const r = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const out: { target: string; met: boolean; measured: string }[] = [];
  const list = [...((r.targets as unknown[]) ?? []), ...((r.checks as unknown[]) ?? [])] as Record<
    string,
    unknown
  >[];
  for (const t of list) {
    if (typeof t.met !== 'boolean') continue; // null: not exercised by this run
    // With the bench's 95 % interval when it gives one: a quick run's few rounds decide little.
    const ci = t.interval95 as { lo?: unknown; hi?: unknown } | undefined;
    const measured =
      (typeof t.measured === 'number' ? t.measured.toFixed(3) : String(t.measured)) +
      (typeof ci?.lo === 'number' && typeof ci.hi === 'number'
        ? ` [${ci.lo.toFixed(3)}–${ci.hi.toFixed(3)}]`
        : '');
    out.push({
      target: String(typeof t.target === 'string' ? t.target : (t.what ?? t.target)),
      met: t.met,
      measured,
    });
  }
  const single = r.target as { met?: unknown; ns?: unknown } | undefined;
  if (single !== undefined && typeof single.met === 'boolean' && !Array.isArray(r.target)) {
    const onMinusOff = (r.onMinusOff as { median?: number } | undefined)?.median;
    out.push({
      target: TARGET_LABELS[name] ?? `${name} target`,
      met: single.met,
      measured: onMinusOff === undefined ? '' : `${onMinusOff.toFixed(0)} ns`,
    });
  }
  return out;
}

await main(cmd, async (v) => {
  const benches = BENCHES.filter((b) => v.only.includes(b.id) && existsSync(`${here}${b.script}`));
  if (benches.length === 0) throw new UsageError('--only: no bench selected');
  // The quick version writes to results/quick/ so the committed (full) results stay as they are.
  const dir = `${here}results/${v.full ? '' : 'quick/'}`;
  const started = performance.now();
  const times: { id: string; seconds: number; code: number }[] = [];
  for (const [i, b] of benches.entries()) {
    const args = v.full ? b.full : b.quick;
    process.stdout.write(
      `\n━━ [${i + 1}/${benches.length}] ${b.id} (${b.kind}): node bench/${b.script} ${args.join(' ')}\n`,
    );
    const t0 = performance.now();
    const code = await run(b.script, args, dir);
    times.push({ id: b.id, seconds: (performance.now() - t0) / 1000, code });
  }
  console.log(`\n━━ ${benches.length} benches in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const t of times)
    console.log(
      `  ${t.id.padEnd(14)} ${t.seconds.toFixed(1).padStart(6)} s${t.code === 0 ? '' : `  (exit ${t.code})`}`,
    );
  const targets = benches.flatMap((b) =>
    b.results.flatMap((name) => targetsOf(dir, name).map((t) => ({ ...t, name }))),
  );
  if (targets.length > 0) {
    console.log(`targets (DESIGN.md), from ${dir.slice(here.length - 'bench/'.length)}*.json:`);
    for (const t of targets)
      console.log(`  ${t.met ? 'met   ' : 'MISSED'} [${t.name}] ${t.target}: ${t.measured}`);
  }
  if (times.some((t) => t.code !== 0)) process.exitCode = 1;
});

/**
 * Amplification in a full outage as a function of the per-client request rate. The retry budget
 * is per client (per origin): a retry costs a token and gets it back only if it succeeds, so in a
 * full outage a client spends what it held when the outage began — its reserve plus the deposits
 * of its recent successes, `reserve + ratio · λ · window` — and then stops. With λ requests per
 * second per client and an outage of T seconds the budget alone gives about
 * 1 + min(limit, ⌊reserve + ratio·λ·window⌋ ÷ (λ·T)). This sweep measures it with the simulator
 * for the default budget, two variants, the gRPC bucket Bulwark had before, and Bulwark's
 * defaults (budget + breaker), next to that formula. Writes `bench/results/sweep.json` and
 * `sweep.svg`.
 *
 *   node bench/storm/sweep.ts [--rates 0.1,0.3,1,3,10] [--clients 200] [--outage 30]
 */
import {
  RETRY_BUDGET_DEFAULTS,
  type ResolvedRetryBudget,
  resolveRetryBudget,
} from '../../src/policy/retry-budget.ts';
import { type Command, main, UsageError } from '../lib/args.ts';
import { fmt, Progress, pct, table, writeResultFile, writeResults } from '../lib/report.ts';
import { lineChart } from '../lib/svg.ts';
import { CANDIDATES } from './budget-candidates.ts';
import type { Scenario } from './scenario.ts';
import { simulate } from './sim.ts';
import { STRATEGIES, type Strategy } from './strategies.ts';

/** The variants swept, with the budget the formula reads (`null`: no formula). */
const VARIANTS: readonly (Strategy & { readonly formula: ResolvedRetryBudget | null })[] = [
  { ...STRATEGIES.find((s) => s.id === 'budget')!, formula: RETRY_BUDGET_DEFAULTS },
  {
    id: 'budget-r2',
    label: 'budget, reserve 2',
    options: { retry: { budget: { reserve: 2 } }, breaker: false },
    note: 'a smaller reserve: fewer retries per outage',
    formula: resolveRetryBudget({ reserve: 2 }),
  },
  {
    id: 'budget-w1s',
    label: 'budget, window 1 s',
    options: { retry: { budget: { window: 1_000 } }, breaker: false },
    note: 'deposits fading over 1 s: a busy client brings more into an outage',
    formula: resolveRetryBudget({ window: 1_000 }),
  },
  { ...CANDIDATES.find((c) => c.id === 'grpc')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'bulwark')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'throttle')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet-budget')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet-both')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet-breaker')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet-budget-breaker')!, formula: null },
  { ...STRATEGIES.find((s) => s.id === 'fleet-all')!, formula: null },
];

const knobs = {
  rates: { type: 'list', default: ['0.1', '0.3', '1', '3', '10'], help: 'per-client request rates (req/s)' },
  clients: { type: 'integer', default: 200, min: 1, max: 1_000_000, help: 'clients' },
  outage: {
    type: 'number',
    default: 30,
    min: 1,
    max: 3600,
    help: 'seconds of full outage (starting at 10 s)',
  },
  variants: {
    type: 'list',
    default: VARIANTS.map((v) => v.id),
    choices: VARIANTS.map((v) => v.id),
    help: 'budget variants',
  },
  seed: { type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'random seed' },
  name: { type: 'string', default: 'sweep', help: 'results file name under bench/results/' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/storm/sweep.ts',
  summary:
    'Full-outage amplification vs the per-client request rate, for the retry budget alone and with the breaker.',
  knobs,
};

await main(cmd, async (v) => {
  const rates = v.rates.map(Number);
  if (rates.some((r) => !(r > 0) || r > 10_000))
    throw new UsageError(`--rates must be numbers in (0, 10000]; got ${v.rates.join(',')}`);
  const variants = VARIANTS.filter((x) => v.variants.includes(x.id));
  const progress = new Progress(v.quiet);
  const T = v.outage;
  const rows: {
    rate: number;
    variant: string;
    amplification: number;
    formula: number | null;
    success: number;
    peakLoad: number;
  }[] = [];
  for (const rate of rates) {
    const scenario: Scenario = {
      clients: v.clients,
      rate,
      duration: (10 + T + 10) * 1000,
      capacity: v.clients * rate * 1.5,
      serviceTime: 20,
      queue: Math.max(1, Math.round((v.clients * rate * 1.5) / 4)),
      rtt: 2,
      faults: [{ kind: 'outage', from: 10_000, to: (10 + T) * 1000 }],
      bucket: 100,
      seed: v.seed,
    };
    for (const variant of variants) {
      progress.update(`sweep: ${rate} req/s per client, ${variant.label}`);
      const r = await simulate(scenario, variant);
      rows.push({
        rate,
        variant: variant.id,
        amplification: r.summary.amplification,
        formula: variant.formula === null ? null : predicted(variant.formula, rate, T),
        success: r.summary.success,
        peakLoad: r.summary.peakLoad,
      });
    }
  }
  progress.done();
  const at = (rate: number, id: string) => rows.find((r) => r.rate === rate && r.variant === id);
  console.log(
    `full-outage amplification vs per-client rate: ${v.clients} clients, outage ${T} s, breaker off unless noted`,
  );
  console.log(
    table(
      [
        { header: 'req/s per client' },
        { header: 'requests in outage' },
        ...variants.map((x) => ({ header: x.label })),
        { header: 'formula (default budget)' },
      ],
      rates.map((rate) => [
        String(rate),
        fmt(rate * T, 0),
        ...variants.map((x) => fmt(at(rate, x.id)?.amplification, 3)),
        fmt(predicted(RETRY_BUDGET_DEFAULTS, rate, T), 3),
      ]),
    ),
  );
  // Only a run of the budget variant can say where the default budget meets its line.
  if (variants.some((x) => x.id === 'budget')) {
    const meets = rates.filter((r) => (at(r, 'budget')?.amplification ?? Number.POSITIVE_INFINITY) <= 1.12);
    console.log(
      `the default budget meets amplification ≤ 1.12 at ${meets.length === 0 ? 'none of the rates' : `${meets.join(', ')} req/s per client`} (${T} s outage)`,
    );
  }
  for (const x of variants.filter((x) => x.fleet !== undefined)) {
    const fleetMeets = rates.filter((r) => (at(r, x.id)?.amplification ?? Number.POSITIVE_INFINITY) <= 1.1);
    console.log(
      `${x.label} meets amplification ≤ 1.10 at ${fleetMeets.length === rates.length ? 'every rate' : `${fleetMeets.join(', ') || 'none'} of ${rates.join(', ')} req/s per client`}`,
    );
  }
  console.log(
    `success over the run (outage is ${pct(T / (20 + T), 0)} of it): ${variants.map((x) => `${x.id} ${rates.map((r) => pct(at(r, x.id)?.success, 1)).join('/')}`).join('; ')}`,
  );
  const svg = writeResultFile(
    `${v.name}.svg`,
    lineChart({
      title: `Full-outage amplification vs per-client rate (${v.clients} clients, ${T} s outage)`,
      xLabel: 'requests per second per client',
      yLabel: 'upstream attempts ÷ calls in the outage',
      series: variants.map((x) => ({
        name: x.label,
        emphasis: x.id === 'budget',
        points: rates.map((r) => [r, at(r, x.id)!.amplification] as const),
      })),
      rules: [
        { y: 1.12, label: 'target 1.12 (budget)' },
        { y: 1.1, label: 'target 1.10 (fleet)' },
      ],
      logX: true,
    }),
  );
  const json = writeResults(v.name, {
    clients: v.clients,
    outageSeconds: T,
    rates,
    variants: variants.map((x) => ({ id: x.id, label: x.label, note: x.note, budget: x.formula })),
    results: rows,
  });
  console.log(`wrote ${json}\nwrote ${svg}`);
});

/**
 * The formula: a client enters the outage holding `reserve + ratio · λ · window` tokens (deposits
 * of λ successes a second, fading over `window`), retries while a whole token is left, at most
 * `limit` (2) times per call, and nothing refills it.
 */
function predicted(b: ResolvedRetryBudget, rate: number, T: number): number {
  const retries = Math.floor(b.reserve + (b.ratio * rate * b.window) / 1000);
  return 1 + Math.min(2, retries / (rate * T));
}

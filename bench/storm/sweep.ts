/**
 * Amplification in a full outage as a function of the per-client request rate. The retry budget
 * is per client (per origin) and, as gRPC's throttling, failed attempts drain it and retries stop
 * once it is half empty: in a full outage nothing refills it, so each client gets R retries in all
 * (R = 3 for the defaults: 10 tokens, 1 per failure, retries above 5), and with λ requests per
 * second per client and an outage of T seconds the budget alone gives amplification
 * 1 + min(limit, R ÷ (λ·T)). This sweep measures it with the simulator for the default budget,
 * for smaller buckets and for Bulwark's defaults (budget + breaker), next to that formula. Writes
 * `bench/results/sweep.json` and `sweep.svg`.
 *
 *   node bench/storm/sweep.ts [--rates 0.1,0.3,1,3,10] [--clients 200] [--outage 30]
 */
import { RETRY_BUDGET_DEFAULTS, RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { type Command, main, UsageError } from '../lib/args.ts';
import { fmt, Progress, pct, table, writeResultFile, writeResults } from '../lib/report.ts';
import { lineChart } from '../lib/svg.ts';
import type { Scenario } from './scenario.ts';
import { simulate } from './sim.ts';
import { STRATEGIES, type Strategy } from './strategies.ts';

/** The variants swept: the default budget, two smaller buckets, and the defaults with the breaker. */
const VARIANTS: readonly (Strategy & { readonly capacity: number | null })[] = [
  { ...STRATEGIES.find((s) => s.id === 'budget')!, capacity: RETRY_BUDGET_DEFAULTS.capacity },
  {
    id: 'budget-c5',
    label: 'budget, 5 tokens',
    options: { retry: { budget: { capacity: 5 } }, breaker: false },
    note: 'a smaller bucket: fewer retries per outage',
    capacity: 5,
  },
  {
    id: 'budget-c3',
    label: 'budget, 3 tokens',
    options: { retry: { budget: { capacity: 3 } }, breaker: false },
    note: 'a smaller bucket still',
    capacity: 3,
  },
  { ...STRATEGIES.find((s) => s.id === 'bulwark')!, capacity: null },
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
        formula:
          variant.capacity === null ? null : 1 + Math.min(2, retriesPerOutage(variant.capacity) / (rate * T)),
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
        { header: `1 + ${retriesPerOutage(RETRY_BUDGET_DEFAULTS.capacity)}/(λT)` },
      ],
      rates.map((rate) => [
        String(rate),
        fmt(rate * T, 0),
        ...variants.map((x) => fmt(at(rate, x.id)?.amplification, 3)),
        fmt(1 + Math.min(2, retriesPerOutage(RETRY_BUDGET_DEFAULTS.capacity) / (rate * T)), 3),
      ]),
    ),
  );
  const need = retriesPerOutage(RETRY_BUDGET_DEFAULTS.capacity) / 0.12;
  console.log(
    `the default budget meets amplification ≤ 1.12 when λ·T ≥ ${fmt(need, 0)} requests per client in the outage (λ ≥ ${fmt(need / T, 2)} req/s for ${T} s)`,
  );
  console.log(
    `success over the run (outage is ${pct(T / (20 + T), 0)} of it): ${variants.map((x) => `${x.id} ${rates.map((r) => pct(at(r, x.id)?.success, 1)).join('/')}`).join('; ')}`,
  );
  const svg = writeResultFile(
    'sweep.svg',
    lineChart({
      title: `Full-outage amplification vs per-client rate (${v.clients} clients, ${T} s outage)`,
      xLabel: 'requests per second per client',
      yLabel: 'upstream attempts ÷ calls in the outage',
      series: variants.map((x) => ({
        name: x.label,
        emphasis: x.id === 'budget',
        points: rates.map((r) => [r, at(r, x.id)!.amplification] as const),
      })),
      rules: [{ y: 1.12, label: 'target 1.12' }],
      logX: true,
    }),
  );
  const json = writeResults('sweep', {
    clients: v.clients,
    outageSeconds: T,
    rates,
    variants: variants.map((x) => ({ id: x.id, label: x.label, note: x.note, capacity: x.capacity })),
    results: rows,
    thresholdRequestsPerClient: need,
  });
  console.log(`wrote ${json}\nwrote ${svg}`);
});

/**
 * Retries one client gets in a full outage with a bucket of `capacity` tokens and the default
 * cost and threshold, counted by running Bulwark's own RetryBudget: calls of 1 + up to 2 retries,
 * every attempt failing, until no retry is allowed any more.
 */
function retriesPerOutage(capacity: number): number {
  const budget = new RetryBudget(resolveRetryBudget({ capacity }));
  let retries = 0;
  for (let call = 0; call < 10_000; call++) {
    budget.recordFailure();
    for (let r = 0; r < 2 && budget.canRetry; r++) {
      retries++;
      budget.recordFailure();
    }
  }
  return retries;
}

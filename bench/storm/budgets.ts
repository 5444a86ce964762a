/**
 * Retry budgets side by side: every candidate (budget-candidates.ts, in Bulwark's real pipeline,
 * breaker off) through the scenarios a budget must get right — a full outage (load), a 30 % random
 * brownout with capacity to spare (success at bounded load), 5 % independent failures in an open
 * loop, and 5 % from a cold start with 1 to 1 000 calls in flight (success) — with the targets of
 * issue 15 marked. Writes `bench/results/storm-budgets.json`.
 *
 *   node bench/storm/budgets.ts [--candidates grpc,earned] [--scenarios outage,brownout] [--seed 1]
 */
import { type Command, main, usageCheck } from '../lib/args.ts';
import { fmt, Progress, pct, table, writeResults } from '../lib/report.ts';
import { CANDIDATES } from './budget-candidates.ts';
import { faultSpec, parseFaults, type Scenario } from './scenario.ts';
import { simulate } from './sim.ts';

/** One scenario of the matrix and the target it is held to. */
interface Case {
  readonly id: string;
  readonly label: string;
  readonly scenario: (seed: number) => Scenario;
  /** What is read off the run (shown in the table), and whether it meets the target (`null`: none). */
  readonly judge: (r: { amplification: number; success: number }) => { text: string; met: boolean | null };
  readonly target: string;
}

/** A scenario: `clients` open-loop clients at `rate` (or `inFlight` each, closed loop), capacity `spare` × offered. */
function scenario(
  o: {
    clients: number;
    rate?: number;
    inFlight?: number;
    seconds: number;
    faults: string[];
    spare?: number;
    window?: { from: number; to: number };
  },
  seed: number,
): Scenario {
  const serviceTime = 20;
  const rtt = 2;
  const rate = o.inFlight === undefined ? o.rate! : (o.inFlight * 1000) / (serviceTime + rtt);
  const capacity = o.clients * rate * (o.spare ?? 1.5);
  return {
    clients: o.clients,
    rate,
    ...(o.inFlight === undefined ? {} : { inFlight: o.inFlight }),
    duration: o.seconds * 1000,
    capacity,
    serviceTime,
    queue: Math.max(1, Math.round(capacity / 4)),
    rtt,
    faults: parseFaults(o.faults),
    ...(o.window && { window: o.window }),
    bucket: 100,
    seed,
  };
}

const load = (max: number) => (r: { amplification: number }) => ({
  text: fmt(r.amplification, 3),
  met: r.amplification <= max,
});
const success = (min: number) => (r: { success: number }) => ({
  text: pct(r.success, 2),
  met: r.success >= min,
});

/** A 30 s outage right after 10 s of `rate` random failures, its load measured over the outage alone. */
function outageAfter(rate: number): Case {
  return {
    id: `outage-after-${rate === 0.05 ? 'errors' : 'brownout'}`,
    label: `outage after ${rate * 100} %: load`,
    target: 'info',
    scenario: (seed) =>
      scenario(
        {
          clients: 1000,
          rate: 2,
          seconds: 60,
          faults: ['outage@10-40', `errors:${rate}@0-10`],
          window: { from: 10_000, to: 40_000 },
          spare: 3,
        },
        seed,
      ),
    judge: (r) => ({ text: fmt(r.amplification, 3), met: null }),
  };
}

const CASES: readonly Case[] = [
  {
    id: 'outage',
    label: 'outage, 2 req/s: load',
    target: '≤ 1.12',
    scenario: (seed) => scenario({ clients: 1000, rate: 2, seconds: 60, faults: ['outage@10-40'] }, seed),
    judge: load(1.12),
  },
  {
    id: 'outage-1',
    label: 'outage, 1 req/s: load',
    target: '≤ 1.12',
    scenario: (seed) => scenario({ clients: 200, rate: 1, seconds: 50, faults: ['outage@10-40'] }, seed),
    judge: load(1.12),
  },
  {
    id: 'brownout',
    label: '30 % brownout: success',
    target: '≥ 97 %',
    scenario: (seed) =>
      scenario({ clients: 1000, rate: 2, seconds: 60, faults: ['errors:0.3@0-60'], spare: 3 }, seed),
    judge: success(0.97),
  },
  {
    id: 'brownout-load',
    label: '30 % brownout: load',
    target: '≤ 1.5',
    scenario: (seed) =>
      scenario({ clients: 1000, rate: 2, seconds: 60, faults: ['errors:0.3@0-60'], spare: 3 }, seed),
    judge: load(1.5),
  },
  {
    id: 'errors',
    label: '5 %, 2 req/s: success',
    target: '≥ 99.9 %',
    scenario: (seed) => scenario({ clients: 1000, rate: 2, seconds: 60, faults: ['errors:0.05@0-60'] }, seed),
    judge: success(0.999),
  },
  outageAfter(0.05),
  outageAfter(0.3),
  {
    id: 'overload',
    label: 'capacity ÷ 3: load',
    target: 'info',
    scenario: (seed) => scenario({ clients: 1000, rate: 2, seconds: 60, faults: ['slow:3@10-40'] }, seed),
    judge: (r) => ({ text: fmt(r.amplification, 3), met: null }),
  },
  ...[1, 10, 200, 1000].map(
    (n): Case => ({
      id: `cold-${n}`,
      label: `5 %, ${n} in flight: success`,
      target: '≥ 99.9 %',
      scenario: (seed) =>
        scenario({ clients: 1, inFlight: n, seconds: 10, faults: ['errors:0.05@0-10'] }, seed),
      judge: success(0.999),
    }),
  ),
];

const knobs = {
  candidates: {
    type: 'list',
    default: CANDIDATES.map((c) => c.id),
    choices: CANDIDATES.map((c) => c.id),
    help: 'budgets to compare',
  },
  scenarios: {
    type: 'list',
    default: CASES.map((c) => c.id),
    choices: CASES.map((c) => c.id),
    help: 'scenarios (the two brownout columns share one run)',
  },
  seed: { type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'random seed' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/storm/budgets.ts',
  summary:
    'Retry budgets × the scenarios that tell an outage from a brownout, on the fleet simulator (breaker off), with the targets marked.',
  knobs,
  examples: ['node bench/storm/budgets.ts --candidates grpc,earned --scenarios outage,brownout,cold-200'],
};

await main(cmd, async (v) => {
  const candidates = CANDIDATES.filter((c) => v.candidates.includes(c.id));
  const cases = CASES.filter((c) => v.scenarios.includes(c.id));
  usageCheck(candidates.length > 0 && cases.length > 0, 'select at least one candidate and one scenario');
  const progress = new Progress(v.quiet);
  const results: {
    candidate: string;
    scenario: string;
    amplification: number;
    success: number;
    refused: number;
    met: boolean | null;
  }[] = [];
  for (const c of candidates) {
    const runs = new Map<string, Awaited<ReturnType<typeof simulate>>>();
    for (const k of cases) {
      const s = k.scenario(v.seed);
      const key = JSON.stringify(s);
      let r = runs.get(key);
      if (r === undefined) {
        progress.update(`${c.label}: ${k.label}`);
        r = await simulate(s, c, { shard: 1000 });
        runs.set(key, r);
      }
      const { amplification, success: ok } = r.summary;
      results.push({
        candidate: c.id,
        scenario: k.id,
        amplification,
        success: ok,
        refused: r.refused,
        met: k.judge(r.summary).met,
      });
    }
  }
  progress.done();
  const at = (c: string, k: string) => results.find((r) => r.candidate === c && r.scenario === k)!;
  console.log(
    table(
      [
        { header: 'budget', align: 'left' },
        ...cases.map((k) => ({ header: `${k.label} (${k.target})` })),
        { header: 'targets met' },
      ],
      candidates.map((c) => [
        c.label,
        ...cases.map((k) => {
          const r = at(c.id, k.id);
          return `${k.judge(r).text}${r.met === false ? ' ✗' : ''}`;
        }),
        `${results.filter((r) => r.candidate === c.id && r.met).length}/${cases.filter((k) => k.target !== 'info').length}`,
      ]),
    ),
  );
  console.log('retries refused by the budget per scenario:');
  for (const c of candidates) {
    console.log(`  ${c.id}: ${cases.map((k) => `${k.id} ${at(c.id, k.id).refused}`).join(', ')}`);
  }
  const json = writeResults('storm-budgets', {
    kind: 'simulated',
    seed: v.seed,
    candidates: candidates.map((c) => ({ id: c.id, label: c.label, note: c.note })),
    scenarios: cases.map((k) => {
      const s = k.scenario(v.seed);
      return {
        id: k.id,
        label: k.label,
        target: k.target,
        clients: s.clients,
        rate: s.rate,
        inFlight: s.inFlight ?? null,
        seconds: s.duration / 1000,
        capacity: s.capacity,
        faults: s.faults.map(faultSpec),
      };
    }),
    results,
  });
  console.log(`wrote ${json}`);
});

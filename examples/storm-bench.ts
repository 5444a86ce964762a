// The retry-storm bench in miniature: 500 simulated clients, each a real Bulwark client pipeline
// (its own breaker and retry budget) on a virtual clock, against an upstream that is down for 20 s.
// How much extra load does each strategy send the failing upstream, and how fast does it recover?
// (npm run bench:storm takes knobs and draws charts; see bench/README.md.)
import { simulate } from '../bench/storm/sim.ts';
import { STRATEGIES } from '../bench/storm/strategies.ts';

const scenario = {
  clients: 500,
  rate: 2, // requests per second per client (Poisson)
  duration: 40_000, // ms of arrivals
  capacity: 1_500, // requests per second the upstream serves
  serviceTime: 20,
  queue: 375,
  rtt: 2,
  faults: [{ kind: 'outage' as const, from: 10_000, to: 30_000 }], // 503 for everyone from 10 s to 30 s
  bucket: 100,
  seed: 1,
};

console.log('strategy'.padEnd(34), 'amplification', ' success', '  p99 latency', ' recovery');
for (const id of ['immediate', 'p-retry', 'full', 'budget', 'bulwark']) {
  const strategy = STRATEGIES.find((s) => s.id === id)!;
  const { summary } = await simulate(scenario, strategy);
  console.log(
    strategy.label.padEnd(34),
    summary.amplification.toFixed(2).padStart(13),
    `${(summary.success * 100).toFixed(1)} %`.padStart(8),
    `${(summary.p99 / 1000).toFixed(1)} s`.padStart(12),
    summary.recovery === null ? '    never' : `${(summary.recovery / 1000).toFixed(1)} s`.padStart(9),
  );
}
// amplification: upstream attempts ÷ client calls during the outage. Naive retries triple the load
// on a service that is already down (p-retry's ten slow retries "succeed" by waiting out the outage,
// minutes later); the retry budget keeps it near 1; with the breaker the upstream sees only
// half-open probes (below 1: calls fail fast without reaching it at all).

/**
 * DESIGN.md's storm targets, checked against a storm's results: amplification ≤ 1.12 in a full
 * outage with the budget alone; only half-open probes once the breaker is open; ≥ 99.9 % success
 * and amplification ≤ 1.06 at up to 5 % independent failures (open loop or from a cold start with
 * calls in flight); ≥ 97 % success at ≤ 1.5× load in a random brownout of up to 30 %; recovery
 * within breaker reset + 2 RTT, and within 1 s of the heal with the defaults; with a slow tail, hedging's p99 ≥ 10× lower for ≤ 5 % more requests.
 */
import { BREAKER_DEFAULTS } from '../../src/policy/breaker.ts';
import type { StormSummary } from './recorder.ts';
import type { Scenario } from './scenario.ts';

/** One target and how the run did. */
export interface TargetCheck {
  readonly target: string;
  readonly strategy: string;
  readonly measured: string;
  /** `null`: the run did not exercise the target (no breaker ever opened). */
  readonly met: boolean | null;
}

/** The targets that apply to `scenario`, checked against the summaries by strategy id. */
export function checkTargets(scenario: Scenario, results: ReadonlyMap<string, StormSummary>): TargetCheck[] {
  const out: TargetCheck[] = [];
  const outage = scenario.faults.some((f) => f.kind === 'outage' || f.kind === 'blackhole');
  const errors = scenario.faults.find((f) => f.kind === 'errors');
  const budget = results.get('budget');
  const bulwark = results.get('bulwark');
  if (outage && budget !== undefined) {
    out.push({
      target: 'full outage, budget alone (breaker off): amplification ≤ 1.12',
      strategy: 'budget',
      measured: budget.amplification.toFixed(3),
      met: budget.amplification <= 1.12,
    });
  }
  if (outage && bulwark?.breaker !== undefined) {
    const b = bulwark.breaker;
    out.push({
      target: 'full outage, breaker on: only half-open probes once open',
      strategy: 'bulwark',
      measured:
        b.clientsOpened === 0
          ? `no breaker opened (a client must make ≥ ${BREAKER_DEFAULTS.minimumCalls} attempts in ${BREAKER_DEFAULTS.window / 1000} s)`
          : `${b.attemptsWhileOpen} attempts while open; ${b.probesPerOpenedClientPerReset.toFixed(2)} probes per opened client per reset; ${b.clientsOpened}/${scenario.clients} breakers opened`,
      met:
        b.clientsOpened === 0 ? null : b.attemptsWhileOpen === 0 && b.probesPerOpenedClientPerReset <= 1.0001,
    });
  }
  if (outage && bulwark !== undefined && bulwark.recovery !== undefined) {
    const recovery = bulwark.recovery;
    const rtt = scenario.rtt + scenario.serviceTime;
    // DESIGN.md's bound, then issue 20's: back within a second of the heal with the defaults (4.7 s
    // with the old 5 s reset).
    const limits: [string, number][] = [
      [`recovery ≥ 95 % goodput within breaker reset + 2 RTT`, BREAKER_DEFAULTS.resetTimeout + 2 * rtt],
      ['recovery after the heal with the defaults', 1_000],
    ];
    for (const [what, limit] of limits) {
      out.push({
        target: `${what} (≤ ${limit} ms)`,
        strategy: 'bulwark',
        measured: recovery === null ? 'never' : `${recovery} ms`,
        met: recovery !== null && recovery <= limit,
      });
    }
  }
  if (errors !== undefined) {
    const rate = errors.rate ?? 0;
    const share = `${(rate * 100).toFixed(0)} %`;
    const cold = scenario.inFlight === undefined ? '' : `, ${scenario.inFlight} in flight from a cold start`;
    // Up to 5 %: DESIGN.md's independent failures; above, up to 30 %: issue 15's random brownout.
    // Checked on the defaults, and on the budget alone where it ran (what the budget owes).
    const [what, success, load] =
      rate <= 0.05
        ? [`${share} independent failures${cold}`, 0.999, 1.06]
        : [`${share} random brownout${cold}`, 0.97, 1.5];
    if (rate <= 0.3) {
      for (const id of ['budget', 'bulwark']) {
        const r = results.get(id);
        if (r !== undefined) out.push(...successAndLoad(what, id, r, success, load));
      }
    }
  }
  const tail = scenario.faults.find((f) => f.kind === 'slowtail');
  const hedge = results.get('hedge');
  if (tail !== undefined && bulwark !== undefined && hedge !== undefined) {
    // Issue 20: the slow tail's p99 down ≥ 10× with hedging, for ≤ 5 % extra upstream requests.
    // With exactly 1 % slow the p99 sits on the tail's edge (fast when a run drew a hair under
    // 1 % slow calls), so the p99.9 is checked beside it.
    const extra = hedge.amplificationTotal / Math.max(1e-9, bulwark.amplificationTotal) - 1;
    for (const [name, q] of [
      ['p99', 'p99'],
      ['p99.9', 'p999'],
    ] as const) {
      const gain = bulwark[q] / Math.max(1e-9, hedge[q]);
      out.push({
        target: `slow tail: ${name} with hedging ≥ 10× lower than without`,
        strategy: 'hedge',
        measured: `${bulwark[q].toFixed(1)} → ${hedge[q].toFixed(1)} ms (${gain.toFixed(1)}×)`,
        met: gain >= 10,
      });
    }
    out.push({
      target: 'slow tail: hedging adds ≤ 5 % upstream requests',
      strategy: 'hedge',
      measured: `${(extra * 100).toFixed(2)} % (${bulwark.amplificationTotal.toFixed(4)} → ${hedge.amplificationTotal.toFixed(4)} requests per call)`,
      met: extra <= 0.05,
    });
  }
  return out;
}

/** The two targets of a scenario with failures: success at least `success`, amplification at most `load`. */
function successAndLoad(
  what: string,
  strategy: string,
  r: StormSummary,
  success: number,
  load: number,
): TargetCheck[] {
  return [
    {
      target: `${what}: success ≥ ${+(success * 100).toFixed(1)} %`,
      strategy,
      measured: `${(r.success * 100).toFixed(3)} %`,
      met: r.success >= success,
    },
    {
      target: `${what}: amplification ≤ ${load}`,
      strategy,
      measured: r.amplification.toFixed(3),
      met: r.amplification <= load,
    },
  ];
}

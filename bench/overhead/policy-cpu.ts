/**
 * Micro bench: Bulwark's CPU per call on the success path with no I/O. A fake dispatcher answers
 * every request from memory (undici's callback form, at once); the same calls go through a client
 * with every policy on (the defaults), one with every policy off, and straight to the fake. Prints
 * median ns per call over interleaved rounds and the two differences that matter — "full client −
 * raw" and "policies on − policies off" (target ≤ 1 µs) — and writes `bench/results/policy-cpu.json`.
 * In the same rounds: the client with its breaker and bulkhead per route (`breaker.key`,
 * `bulkhead.key`) against per origin; the generic `wrap(timeout, retry, breaker)` around a resolved promise, and
 * cockatiel's comparable `wrap(timeout, retry, circuitBreaker)`, each minus the bare promise
 * (target ≤ 1 µs for Bulwark's). And a client with one no-op `beforeRequest` hook: what setting a
 * hook costs (a call without hooks pays one check, included in the rows above).
 *
 *   node bench/overhead/policy-cpu.ts [--rounds 8] [--calls 200000]
 */
import {
  ConsecutiveBreaker,
  circuitBreaker,
  retry as cockatielRetry,
  timeout as cockatielTimeout,
  wrap as cockatielWrap,
  ExponentialBackoff,
  handleAll,
  TimeoutStrategy,
} from 'cockatiel';
import type { Dispatcher } from 'undici';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import type { ClientOptions } from '../../src/client/options.ts';
import { policy, wrap } from '../../src/policy/wrap.ts';
import { type Command, main } from '../lib/args.ts';
import { memoryDispatcher } from '../lib/memory-dispatcher.ts';
import { fmt, Progress, table, writeResults } from '../lib/report.ts';
import { type Spread, spread } from '../lib/stats.ts';

const knobs = {
  rounds: {
    type: 'integer',
    default: 8,
    min: 4,
    max: 1000,
    help: 'interleaved rounds (median and spread over them)',
  },
  calls: { type: 'integer', default: 200_000, min: 1000, help: 'calls per case per round' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/overhead/policy-cpu.ts',
  summary:
    'Policy-only CPU per call (no I/O): Bulwark with all policies on vs all off vs the bare fake dispatcher.',
  knobs,
};

/** Answers every request from memory (see bench/lib/memory-dispatcher.ts). */
const fake = memoryDispatcher();

/** The least a caller of `dispatch` does: a handler that settles a promise with the status. */
class RawHandler implements Dispatcher.DispatchHandler {
  readonly #resolve: (status: number) => void;
  readonly #reject: (err: Error) => void;

  constructor(resolve: (status: number) => void, reject: (err: Error) => void) {
    this.#resolve = resolve;
    this.#reject = reject;
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number): void {
    this.#resolve(statusCode);
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#reject(err);
  }
}

const URL_STRING = 'http://bench.local/items/1';
const OPTS: Dispatcher.DispatchOptions = {
  origin: 'http://bench.local',
  path: '/items/1',
  method: 'GET',
};

function bulwark(options: ClientOptions): BulwarkClient {
  return createClient({ dns: false, ...options, dispatcher: fake });
}

const ON = bulwark({});
const OFF = bulwark({ retry: false, breaker: false, bulkhead: false });
/** What a hook costs when one is set (a call without hooks pays one check: `on` above). */
const HOOKED = bulwark({ hooks: { beforeRequest: () => {} } });
/** Every policy on, the breaker and the bulkhead per route (breaker.key, bulkhead.key). */
const byRoute = ({ method, path }: { method: string; path: string }): string => `${method} ${path}`;
const KEYED = bulwark({ breaker: { key: byRoute }, bulkhead: { key: byRoute } });

interface Case {
  readonly id: string;
  readonly label: string;
  run(n: number): Promise<void>;
}

let sink = 0;

/**
 * Every case lets the event loop turn once per 1 024 calls. The fake answers synchronously, so a
 * run is one long chain of microtasks, and Node runs `process.nextTick` callbacks only once the
 * microtask queue is empty: without a turn, every unread response body (the client builds one per
 * call) stayed queued there with its end-of-stream tick, and a long run ran out of memory.
 */
const YIELD_EVERY = 1023;
const breathe = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** One request straight to the fake, its status as a promise. */
function fakeStatus(): Promise<number> {
  return new Promise<number>((resolve, reject) => fake.dispatch(OPTS, new RawHandler(resolve, reject)));
}

/** Makes `n` calls of `call` one after another, turning the event loop every 1 024 (above). */
async function times(n: number, call: () => Promise<number>): Promise<void> {
  for (let i = 0; i < n; i++) {
    if ((i & YIELD_EVERY) === YIELD_EVERY) await breathe();
    sink += await call();
  }
}

/** The generic policies as a user would combine them around an SDK call: 30 s, 2 retries, a breaker. */
const GENERIC = wrap(policy.timeout(30_000), policy.retry({ limit: 2 }), policy.breaker());
/** cockatiel's comparable combination (its cooperative timeout: the function gets the signal). */
const COCKATIEL = cockatielWrap(
  cockatielTimeout(30_000, TimeoutStrategy.Cooperative),
  cockatielRetry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
  circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
);
const answer = (): Promise<number> => Promise.resolve(1);

const cases: Case[] = [
  {
    id: 'raw',
    label: 'fake dispatcher alone (dispatch → promise)',
    // The same async wrapper per call as the client cases, so `full client − raw` is the client.
    run: (n) => times(n, async () => await fakeStatus()),
  },
  {
    id: 'off',
    label: 'client.request, policies off',
    run: (n) => times(n, async () => (await OFF.request(URL_STRING)).statusCode),
  },
  {
    id: 'on',
    label: 'client.request, all policies on (defaults)',
    run: (n) => times(n, async () => (await ON.request(URL_STRING)).statusCode),
  },
  {
    id: 'hook',
    label: 'client.request, defaults + one no-op beforeRequest hook',
    run: (n) => times(n, async () => (await HOOKED.request(URL_STRING)).statusCode),
  },
  {
    id: 'keyed',
    label: 'client.request, all on, breaker and bulkhead per route',
    run: (n) => times(n, async () => (await KEYED.request(URL_STRING)).statusCode),
  },
  {
    id: 'promise',
    label: 'a resolved promise alone',
    run: (n) => times(n, async () => await answer()),
  },
  {
    id: 'wrap',
    label: 'wrap(timeout, retry, breaker) around it',
    run: (n) => times(n, async () => await GENERIC.execute(answer)),
  },
  {
    id: 'cockatiel',
    label: "cockatiel's wrap(timeout, retry, circuitBreaker) around it",
    run: (n) => times(n, async () => await COCKATIEL.execute(answer)),
  },
];

await main(cmd, async (v) => {
  const progress = new Progress(v.quiet);
  for (const c of cases) await c.run(Math.min(v.calls, 20_000)); // warm-up
  const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  // The process's own CPU time too: on a machine shared with other work, wall time also counts the
  // time this process waited for a core.
  const cpuSamples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let r = 0; r < v.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + r) % cases.length]!;
      progress.update(`policy CPU: round ${r + 1}/${v.rounds}, ${c.label}`);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await c.run(v.calls);
      samples.get(c.id)!.push(Number(process.hrtime.bigint() - t0) / v.calls);
      const cpu = process.cpuUsage(cpu0);
      cpuSamples.get(c.id)!.push(((cpu.user + cpu.system) * 1000) / v.calls);
    }
  }
  progress.done();
  await ON.close();
  await OFF.close();
  await HOOKED.close();
  await KEYED.close();
  const s = Object.fromEntries(cases.map((c) => [c.id, spread(samples.get(c.id)!)])) as Record<
    string,
    Spread
  >;
  // Differences per round (paired), then their median: steadier than a difference of medians.
  const diff = (a: string, b: string, from = samples): Spread =>
    spread(from.get(a)!.map((x, i) => x - from.get(b)![i]!));
  const cpu = (id: string): Spread => spread(cpuSamples.get(id)!);
  const cpuDiff = (a: string, b: string): Spread => diff(a, b, cpuSamples);
  /** A table row of a paired difference: wall median, min, max, then the CPU difference. */
  const diffRow = (label: string, a: string, b: string): string[] => {
    const d = diff(a, b);
    return [label, fmt(d.median, 0), fmt(d.min, 0), fmt(d.max, 0), '', fmt(cpuDiff(a, b).median, 0)];
  };
  const fullMinusRaw = diff('on', 'raw');
  const onMinusOff = diff('on', 'off');
  const hookMinusOn = diff('hook', 'on');
  const keyedMinusOn = diff('keyed', 'on');
  const wrapMinusPromise = diff('wrap', 'promise');
  const cockatielMinusPromise = diff('cockatiel', 'promise');
  console.log(
    `policy CPU per call, no I/O, ${v.rounds} interleaved rounds × ${v.calls} calls, node ${process.version}`,
  );
  console.log(
    table(
      [
        { header: 'case', align: 'left' },
        { header: 'median ns/call' },
        { header: 'min' },
        { header: 'max' },
        { header: 'spread' },
        { header: 'CPU ns/call' },
      ],
      [
        ...cases.map((c) => [
          c.label,
          fmt(s[c.id]!.median, 0),
          fmt(s[c.id]!.min, 0),
          fmt(s[c.id]!.max, 0),
          `±${fmt(s[c.id]!.spreadPct, 1)} %`,
          fmt(cpu(c.id).median, 0),
        ]),
        diffRow('full client − raw', 'on', 'raw'),
        diffRow('policies on − policies off', 'on', 'off'),
        diffRow('keyed (per route) − per origin', 'keyed', 'on'),
        diffRow('one no-op hook − no hook', 'hook', 'on'),
        diffRow('wrap(timeout, retry, breaker) − promise', 'wrap', 'promise'),
        diffRow('cockatiel wrap − promise', 'cockatiel', 'promise'),
      ],
    ),
  );
  const met = onMinusOff.median <= 1000;
  console.log(
    `target: policy CPU ≤ 1000 ns per call — policies on − off ${fmt(onMinusOff.median, 0)} ns: ${met ? 'met' : 'MISSED'}`,
  );
  // Judged on the process's CPU time: the target is a CPU cost, and wall time on a shared machine
  // also counts the waits for a core (both are printed and written).
  const wrapCpu = cpuDiff('wrap', 'promise');
  const wrapMet = wrapCpu.median <= 1000;
  console.log(
    `target: generic wrap(timeout, retry, breaker) ≤ 1000 ns of CPU per call — ${fmt(wrapCpu.median, 0)} ns: ${wrapMet ? 'met' : 'MISSED'} (wall ${fmt(wrapMinusPromise.median, 0)} ns; cockatiel's: CPU ${fmt(cpuDiff('cockatiel', 'promise').median, 0)} ns, wall ${fmt(cockatielMinusPromise.median, 0)} ns)`,
  );
  const json = writeResults('policy-cpu', {
    rounds: v.rounds,
    calls: v.calls,
    unit: 'ns/call',
    cases: cases.map((c) => ({ id: c.id, label: c.label, ...s[c.id] })),
    fullMinusRaw,
    onMinusOff,
    target: { ns: 1000, met },
    hookMinusOn,
    keyedMinusOn,
    wrapMinusPromise,
    cockatielMinusPromise,
    cpu: {
      unit: 'ns/call of process CPU time (user + system)',
      cases: cases.map((c) => ({ id: c.id, ...cpu(c.id) })),
      onMinusOff: cpuDiff('on', 'off'),
      keyedMinusOn: cpuDiff('keyed', 'on'),
      hookMinusOn: cpuDiff('hook', 'on'),
      wrapMinusPromise: cpuDiff('wrap', 'promise'),
      cockatielMinusPromise: cpuDiff('cockatiel', 'promise'),
    },
    wrapTarget: { ns: 1000, met: wrapMet },
    sink,
  });
  console.log(`wrote ${json}`);
});

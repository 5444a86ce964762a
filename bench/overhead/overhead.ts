/**
 * Macro bench: throughput of `client.request` and `client.fetch` (every policy on: the defaults)
 * against the peers on the same loopback upstream, which runs in its own process (server.ts):
 * raw undici `Pool.request`, undici `fetch` on undici's own `Agent` and on Bulwark's agent (the
 * dispatcher `client.fetch` uses, which the fetch target names), `node:http` with a keep-alive
 * agent, got, axios, and undici wrapped in cockatiel retry + breaker + timeout; and over HTTP/2
 * (a node:http2 upstream, server-h2.ts), client.request and client.fetch with `allowH2` against
 * undici's own h2 `Pool.request` and `fetch`, each h2 case judged against its undici twin. Every
 * case keeps `--inflight` requests in flight over as many connections for `--duration` ms per
 * round; rounds are interleaved (a fresh seeded order each round, each turn preceded by an untimed
 * `--settle`) and each case's ratio to raw undici request is taken per round, then the median.
 * Each turn also records the client process's CPU time and GC pauses per request (the server runs
 * apart), which tell a case that costs more CPU from one that was caught in a GC-heavy stretch.
 * Writes `bench/results/overhead.json`.
 *
 * Each case runs in worker processes of its own (worker.ts), fresh ones every `--recycle` rounds,
 * and this process only conducts: a service runs one HTTP client, not eight. Run side by side in
 * one process (`--shared`, the method before), the cases share JIT feedback (undici's own call
 * sites see every contender's handlers), a heap and V8's pretenuring decisions; raw undici then
 * cost ~35 µs of CPU per request instead of ~28, and Bulwark's client less than that in
 * proportion, which flattered it by several per cent.
 *
 * Short turns over many rounds: this VM's loopback throughput drifts by ±30 % over seconds, and a
 * ratio taken between turns a second apart cancels most of that drift. The ratio's median comes
 * with a distribution-free 95 % interval. `--cases undici-request,undici-request-2` is the A/A
 * check of the method itself (two identical clients; 1.00 expected).
 *
 *   node bench/overhead/overhead.ts [--rounds 20] [--duration 500] [--inflight 100] [--cases ...]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { loadavg } from 'node:os';
import { type Command, main, usageCheck } from '../lib/args.ts';
import { fmt, Progress, table, writeResults } from '../lib/report.ts';
import { medianInterval, type Spread, spread } from '../lib/stats.ts';
import {
  baselineCases,
  CASES,
  type Case,
  DECOMPOSITION,
  type H2Upstream,
  isH2Case,
  measure,
  type Turn,
} from './cases.ts';
import { OTEL_CASES, OTEL_PAIRS } from './otel.ts';

/** The OpenTelemetry reference cases: OpenTelemetry's own undici instrumentation on raw undici. */
const OFFICIAL_OTEL = new Set(OTEL_PAIRS.filter((p) => p.official).map((p) => p.id));

const knobs = {
  rounds: { type: 'integer', default: 20, min: 4, max: 1000, help: 'interleaved rounds (≥ 4)' },
  duration: { type: 'integer', default: 500, min: 100, max: 600_000, help: 'ms each case runs per round' },
  count: {
    type: 'integer',
    default: 0,
    min: 0,
    max: 100_000_000,
    help: 'requests each case makes per round instead of running for --duration (0: --duration)',
  },
  warmup: {
    type: 'integer',
    default: 1_000,
    min: 0,
    max: 600_000,
    help: 'ms each case runs untimed once it is set up (connections opened, JIT settled), and again in each fresh worker process',
  },
  inflight: { type: 'integer', default: 100, min: 1, max: 10_000, help: 'requests in flight per case' },
  settle: {
    type: 'integer',
    default: 200,
    min: 0,
    max: 10_000,
    help: 'ms each case runs untimed right before each timed run (pays for what the case before left behind; reopens idled-out connections)',
  },
  seed: { type: 'integer', default: 1, min: 1, help: 'seed of the per-round case order' },
  connections: {
    type: 'integer',
    default: 0,
    min: 0,
    help: 'connections per client; 0: as many as --inflight (see the note in the source)',
  },
  cases: {
    type: 'list',
    default: CASES.map((c) => c.id).filter((id) => !DECOMPOSITION.includes(id) && !OTEL_CASES.includes(id)),
    choices: CASES.map((c) => c.id),
    help: 'cases to run',
  },
  baseline: {
    type: 'string',
    default: '',
    help: 'another checkout of Bulwark (e.g. a git worktree of an older commit): its client.request and client.fetch run as two more cases, for a before/after in one run',
  },
  shared: {
    type: 'boolean',
    default: false,
    help: 'run every case in this one process, beside the others (the method before worker processes; it slows raw undici by ~25 % and the contenders unequally); by default each case runs in worker processes of its own',
  },
  recycle: {
    type: 'integer',
    default: 10,
    min: 0,
    help: 'fresh worker processes every this many rounds, so that what one process happened to settle into (a GC-heavy stretch) weighs one block of rounds, not the run (0: never; nothing to recycle with --shared)',
  },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/overhead/overhead.ts',
  summary:
    'Throughput against the peers: Bulwark client.request / client.fetch (all policies on) vs raw undici request / fetch, node:http, got, axios, cockatiel + undici; loopback server in its own process.',
  knobs,
  examples: [
    'npm run bench:overhead -- --rounds 200 --duration 100 --settle 50 --cases undici-request,bulwark-request,undici-fetch-agent,bulwark-fetch',
    'npm run bench:overhead -- --cases undici-request,undici-request-2   # A/A: the method itself',
    'npm run bench:overhead -- --rounds 40 --duration 300 --cases undici-request,undici-h2-request,bulwark-h2-request,undici-h2-fetch,bulwark-h2-fetch   # HTTP/2',
    'npm run bench:overhead -- --rounds 20 --duration 200 --settle 50 --warmup 500 --cases undici-request,undici-request-otel,bulwark-request,bulwark-request-otel   # OpenTelemetry: the official undici instrumentation on raw undici beside bulwark/otel',
    'npm run bench:overhead -- --shared --cases undici-request,undici-request-2,bulwark-request   # every case in this one process (the method before)',
    'npm run bench:overhead -- --rounds 20 --count 20000 --settle 0 --cases undici-request,bulwark-request   # fixed request counts per turn',
    'git worktree add /tmp/before HEAD~5 && ln -s "$PWD/node_modules" /tmp/before/ && npm run bench:overhead -- --cases undici-request,bulwark-request,undici-fetch,bulwark-fetch --baseline /tmp/before',
  ],
};

/** A small seeded generator (the round orders are reproducible with --seed). */
function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

function shuffle<T>(xs: T[], random: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

/** Forks the upstream and resolves with its URL. */
function startServer(): Promise<{ url: string; child: ChildProcess }> {
  const child = fork(new URL('./server.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) =>
      resolve({ url: `http://127.0.0.1:${(m as { port: number }).port}/`, child }),
    );
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the bench server exited with code ${code}`)));
  });
}

/** Forks the HTTP/2 upstream and resolves with its URL and the CA its certificate needs. */
function startH2Server(): Promise<{ h2: H2Upstream; child: ChildProcess }> {
  const child = fork(new URL('./server-h2.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => {
      const { port, ca } = m as { port: number; ca: string };
      resolve({ h2: { url: `https://127.0.0.1:${port}/`, ca }, child });
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the h2 bench server exited with code ${code}`)));
  });
}

/** One case ready to run turns: in this process, or in a worker process of its own. */
interface Runner {
  turn(inflight: number, ms: number, count: number): Promise<Turn>;
  close(): Promise<void>;
}

/** Runs `c` in this process, beside the other cases. */
async function inProcess(c: Case, url: string, connections: number, h2?: H2Upstream): Promise<Runner> {
  const client = await c.setup(url, connections, h2);
  return {
    turn: (inflight, ms, count) => measure(client.one, inflight, ms, count),
    close: () => client.close(),
  };
}

type WorkerReply = { ready: true } | { turn: Turn } | { closed: true } | { error: string };

/** Runs `c` alone in a worker process (worker.ts), which exits when the runner closes. */
async function inWorker(
  c: Case,
  url: string,
  connections: number,
  baseline: string,
  h2?: H2Upstream,
): Promise<Runner> {
  const worker = fork(new URL('./worker.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let exited: Error | undefined;
  const waiting = new Set<(m: WorkerReply) => void>();
  worker.once('exit', (code, signal) => {
    exited = new Error(`the worker of ${c.id} exited (${signal ?? `code ${code}`})`);
    for (const w of waiting) w({ error: exited.message });
  });
  // One request at a time: the bench waits for each reply before it sends the next message.
  const ask = (message: object): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      if (exited !== undefined) return reject(exited);
      const settle = (m: WorkerReply): void => {
        waiting.delete(settle);
        worker.off('message', settle);
        if ('error' in m) reject(new Error(`worker of ${c.id}: ${m.error}`));
        else resolve(m);
      };
      waiting.add(settle);
      worker.on('message', settle);
      worker.send(message);
    });
  await ask({ setup: { id: c.id, url, connections, baseline, ...(h2 === undefined ? {} : { h2 }) } });
  return {
    turn: async (inflight, ms, count) =>
      ((await ask({ turn: { inflight, ms, count } })) as { turn: Turn }).turn,
    close: async () => {
      await ask({ close: true });
      const gone = new Promise((resolve) => worker.once('exit', resolve));
      worker.disconnect();
      await gone;
    },
  };
}

await main(cmd, async (v) => {
  const cases = CASES.filter((c) => v.cases.includes(c.id));
  // The official undici instrumentation subscribes to undici's diagnostics channels, which every
  // undici request in the process publishes to: beside other cases it would trace them too.
  usageCheck(
    !v.shared || !cases.some((c) => OFFICIAL_OTEL.has(c.id)),
    `--shared: ${[...OFFICIAL_OTEL].join(', ')} instrument every undici request of their process; run them in worker processes (without --shared)`,
  );
  if (v.baseline !== '') cases.push(...(await baselineCases(v.baseline)));
  const { url, child } = await startServer();
  const h2Server = cases.some((c) => isH2Case(c.id)) ? await startH2Server() : undefined;
  const h2 = h2Server?.h2;
  const progress = new Progress(v.quiet);
  // The machine's 1-, 5- and 15-minute load averages when the run starts (and ends, in the JSON):
  // on a shared machine they say how far to trust the spreads.
  const loadAtStart = loadavg();
  const runners = new Map<string, Runner>();
  try {
    // One connection per request in flight, for every case. With more allowed (Bulwark's default
    // is 256), undici's Pool opens more connections than requests in flight whenever the server is
    // slow to answer, which it is during the first warm-up: the first client measured ended with
    // 256 connections and ran 10 % slower than an identical second one (an A/A check, 120 rounds).
    const connections = v.connections === 0 ? v.inflight : v.connections;
    /** (Re)starts every case and warms it up: connections opened, JIT settled. */
    const start = async (): Promise<void> => {
      for (const r of runners.values()) await r.close();
      runners.clear();
      for (const c of cases) {
        runners.set(
          c.id,
          !v.shared
            ? await inWorker(c, url, connections, v.baseline, h2)
            : await inProcess(c, url, connections, h2),
        );
      }
      for (const c of cases) {
        progress.update(`overhead: warm-up ${c.label}`);
        await runners.get(c.id)!.turn(v.inflight, v.warmup, 0);
      }
    };
    await start();
    const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const cpuUs = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const gcUs = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const random = seeded(v.seed);
    for (let r = 0; r < v.rounds; r++) {
      if (!v.shared && r > 0 && v.recycle > 0 && r % v.recycle === 0) {
        progress.update(`overhead: round ${r + 1}/${v.rounds}, fresh worker processes`);
        await start();
      }
      // A fresh order every round: with a fixed rotation each case always follows the same other
      // case and inherits its garbage and socket state (an A/A pair measured 1.11 apart that way).
      const order = shuffle([...cases], random);
      for (const c of order) {
        progress.update(`overhead: round ${r + 1}/${v.rounds}, ${c.label}`);
        const runner = runners.get(c.id)!;
        // Untimed, the case runs alone first: whatever the case before it left behind (garbage to
        // collect, sockets to drain) is paid here, and connections that idled out are reopened.
        if (v.settle > 0) await runner.turn(v.inflight, v.settle, 0);
        const turn = await runner.turn(v.inflight, v.duration, v.count);
        samples.get(c.id)!.push(turn.rps);
        cpuUs.get(c.id)!.push(turn.cpuUs);
        gcUs.get(c.id)!.push(turn.gcUs);
      }
    }
    progress.done();
    for (const r of runners.values()) await r.close();
    runners.clear();
    const stats = new Map<string, Spread>(cases.map((c) => [c.id, spread(samples.get(c.id)!)]));
    // Ratios per round (each case against the baseline measured in the same round), then the median.
    const ratioTo = (id: string, base: string): Spread | undefined => {
      const xs = samples.get(id);
      const bs = samples.get(base);
      return xs && bs ? spread(xs.map((x, i) => x / bs[i]!)) : undefined;
    };
    const base = 'undici-request';
    console.log(
      `throughput, ${v.inflight} in flight, ${v.rounds} interleaved rounds × ${v.count > 0 ? `${v.count} requests` : `${v.duration} ms`}, loopback server in its own process, ${v.shared ? 'every case in this process' : `each case in worker processes of its own${v.recycle > 0 ? ` (fresh every ${v.recycle} rounds)` : ''}`}, node ${process.version}, load average ${loadAtStart[0]!.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`,
    );
    console.log(
      table(
        [
          { header: 'case', align: 'left' },
          { header: 'median req/s' },
          { header: 'spread' },
          { header: '× raw undici request' },
          { header: '95 % interval' },
          { header: 'CPU µs/req' },
          { header: 'GC µs/req' },
        ],
        cases.map((c) => {
          const s = stats.get(c.id)!;
          const r = ratioTo(c.id, base);
          const ci = r && medianInterval(r.samples);
          return [
            c.label,
            fmt(s.median, 0),
            `±${fmt(s.spreadPct, 1)} %`,
            fmt(r?.median, 3),
            ci ? `${fmt(ci.lo, 3)}–${fmt(ci.hi, 3)}` : '—',
            fmt(spread(cpuUs.get(c.id)!).median, 1),
            fmt(spread(gcUs.get(c.id)!).median, 2),
          ];
        }),
      ),
    );
    // With the A/A pair in the run, client.request is also set against the mean of the two raw
    // pools: two identical pools have measured up to 6 % apart over 150 rounds (a bias of the
    // instance, not noise), and a reference made of two instances halves what one of them adds.
    const pairRatio = ((): Spread | undefined => {
      const xs = samples.get('bulwark-request');
      const a = samples.get('undici-request');
      const b = samples.get('undici-request-2');
      return xs && a && b ? spread(xs.map((x, i) => x / ((a[i]! + b[i]!) / 2))) : undefined;
    })();
    if (pairRatio !== undefined) {
      const { lo, hi } = medianInterval(pairRatio.samples);
      console.log(
        `client.request ÷ the mean of the two raw undici pools: ${pairRatio.median.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`,
      );
    }
    // Over HTTP/2, each Bulwark front-end against undici's own h2 doing the same.
    const h2RequestRatio = ratioTo('bulwark-h2-request', 'undici-h2-request');
    const h2FetchRatio = ratioTo('bulwark-h2-fetch', 'undici-h2-fetch');
    for (const [name, r] of [
      ['client.request over h2 ÷ undici Pool.request over h2', h2RequestRatio],
      ['client.fetch over h2 ÷ undici fetch over h2', h2FetchRatio],
    ] as const) {
      if (r === undefined) continue;
      const { lo, hi } = medianInterval(r.samples);
      console.log(`${name}: ${r.median.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`);
    }
    const reqRatio = ratioTo('bulwark-request', 'undici-request');
    // The fetch target names undici fetch "with the same dispatcher": Bulwark's agent
    // (undici-fetch-agent, in the default set). A run without that case is judged against undici
    // fetch on undici's own Agent instead, and says so.
    const sameDispatcher = samples.has('undici-fetch-agent');
    const fetchRatio = ratioTo('bulwark-fetch', sameDispatcher ? 'undici-fetch-agent' : 'undici-fetch');
    // Issue 15's targets (stricter than DESIGN.md's 0.95): client.request ≥ 1.0 × raw undici,
    // client.fetch ≥ 1.5 × undici fetch on the same dispatcher for plain requests and ≥ 1.0 × for
    // every other shape, each shape against undici fetch making the same call.
    const shapeRatio = (shape: string): Spread | undefined =>
      ratioTo(`bulwark-fetch-${shape}`, `undici-fetch-agent-${shape}`);
    const target = (name: string, ratio: Spread | undefined, floor: number) =>
      ratio && {
        target: `${name} ≥ ${floor.toFixed(2)}`,
        measured: ratio.median,
        interval95: medianInterval(ratio.samples),
        met: ratio.median >= floor,
      };
    const targets = [
      target('client.request × raw undici Pool.request', reqRatio, 1.0),
      target(
        sameDispatcher
          ? "client.fetch × undici fetch on the same dispatcher (Bulwark's agent), plain GET"
          : "client.fetch × undici fetch (on undici's own Agent), plain GET",
        fetchRatio,
        1.5,
      ),
      target(
        'client.fetch × undici fetch on the same dispatcher, a Headers object',
        shapeRatio('headers'),
        1.0,
      ),
      target(
        'client.fetch × undici fetch on the same dispatcher, a ReadableStream body',
        shapeRatio('stream'),
        1.0,
      ),
      // bulwark/otel: traces and metrics on the real SDK may cost at most 10 % throughput.
      target(
        'client.request with OpenTelemetry × without',
        ratioTo('bulwark-request-otel', 'bulwark-request'),
        0.9,
      ),
      target(
        'client.fetch with OpenTelemetry × without',
        ratioTo('bulwark-fetch-otel', 'bulwark-fetch'),
        0.9,
      ),
    ].filter((t) => t !== undefined);
    if (targets.length > 0) {
      console.log('targets, median of the per-round ratios [95 % interval]:');
      for (const t of targets) {
        const { lo, hi } = t.interval95;
        console.log(
          `  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`,
        );
      }
    }
    // The OpenTelemetry variants beside the target: metrics alone, and 10 % of traces sampled.
    for (const [id, what] of [
      ['bulwark-request-otel-metrics', 'metrics only'],
      ['bulwark-request-otel-sampled', '10 % of traces sampled'],
    ] as const) {
      const r = ratioTo(id, 'bulwark-request');
      if (r === undefined) continue;
      const { lo, hi } = medianInterval(r.samples);
      console.log(
        `client.request with OpenTelemetry, ${what}, × without: ${r.median.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`,
      );
    }
    // The reference point: OpenTelemetry's official undici instrumentation on raw undici, each
    // against its uninstrumented twin in the same round; then what OTel adds in CPU per request
    // (the median of the per-round differences), which compares the instrumentations' own price
    // where the ratios also depend on what the client costs without OTel.
    const cpuAdded = (id: string, base: string): Spread | undefined => {
      const xs = cpuUs.get(id);
      const bs = cpuUs.get(base);
      return xs && bs ? spread(xs.map((x, i) => x - bs[i]!)) : undefined;
    };
    const otelReference = OTEL_PAIRS.flatMap(({ what, id, without }) => {
      const ratio = ratioTo(id, without);
      const cpu = cpuAdded(id, without);
      return ratio && cpu ? [{ what, id, without, ratio, cpuAddedMicrosPerRequest: cpu }] : [];
    });
    if (otelReference.some((r) => OFFICIAL_OTEL.has(r.id))) {
      console.log(
        'OpenTelemetry (traces + metrics) on × off, per round [95 % interval]; CPU µs/req added, per round:',
      );
      for (const r of otelReference) {
        const ci = medianInterval(r.ratio.samples);
        const cc = medianInterval(r.cpuAddedMicrosPerRequest.samples);
        console.log(
          `  ${r.what} × without: ${r.ratio.median.toFixed(3)} [${ci.lo.toFixed(3)}–${ci.hi.toFixed(3)}]; +${r.cpuAddedMicrosPerRequest.median.toFixed(1)} µs [${cc.lo.toFixed(1)}–${cc.hi.toFixed(1)}]`,
        );
      }
    }
    // bulwark/otel's ratio over the official instrumentation's, per round (1: the same share of
    // throughput lost; below 1: bulwark/otel loses more).
    const onOff = new Map(otelReference.map((r) => [r.id, r.ratio]));
    const otelRelative = (['request', 'fetch'] as const).flatMap((front) => {
      const a = onOff.get(`bulwark-${front}-otel`);
      const b = onOff.get(`undici-${front}-otel`);
      return a && b
        ? [
            {
              what: `client.${front} (bulwark/otel on ÷ off) ÷ (undici, official instrumentation on ÷ off)`,
              ratio: spread(a.samples.map((x, i) => x / b.samples[i]!)),
            },
          ]
        : [];
    });
    for (const r of otelRelative) {
      const { lo, hi } = medianInterval(r.ratio.samples);
      console.log(`  ${r.what}: ${r.ratio.median.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`);
    }
    const json = writeResults('overhead', {
      rounds: v.rounds,
      durationMs: v.count > 0 ? null : v.duration,
      requestsPerTurn: v.count > 0 ? v.count : null,
      warmupMs: v.warmup,
      inflight: v.inflight,
      connections,
      // Each case in worker processes of its own (fresh ones every recycleRounds rounds; 0: never).
      isolated: !v.shared,
      recycleRounds: v.shared ? 0 : v.recycle,
      unit: 'requests/s',
      loadAverage: { start: loadAtStart, end: loadavg() },
      cases: cases.map((c) => ({
        id: c.id,
        label: c.label,
        ...stats.get(c.id),
        ratioToUndiciRequest: ratioTo(c.id, base),
        // This process's CPU time and GC pauses per request, per turn (the server runs apart).
        cpuMicrosPerRequest: spread(cpuUs.get(c.id)!),
        gcMicrosPerRequest: spread(gcUs.get(c.id)!),
      })),
      ratios: {
        bulwarkRequestOverUndiciRequest: reqRatio,
        bulwarkRequestOverBothRawPools: pairRatio ?? null,
        bulwarkFetchOverUndiciFetch: fetchRatio,
        bulwarkFetchHeadersOverUndiciFetchHeaders: shapeRatio('headers') ?? null,
        bulwarkFetchStreamOverUndiciFetchStream: shapeRatio('stream') ?? null,
        bulwarkRequestOtelOverBulwarkRequest: ratioTo('bulwark-request-otel', 'bulwark-request') ?? null,
        bulwarkFetchOtelOverBulwarkFetch: ratioTo('bulwark-fetch-otel', 'bulwark-fetch') ?? null,
        bulwarkH2RequestOverUndiciH2Request: h2RequestRatio ?? null,
        bulwarkH2FetchOverUndiciH2Fetch: h2FetchRatio ?? null,
        bulwarkRequestOtelMetricsOverBulwarkRequest:
          ratioTo('bulwark-request-otel-metrics', 'bulwark-request') ?? null,
        bulwarkRequestOtelSampledOverBulwarkRequest:
          ratioTo('bulwark-request-otel-sampled', 'bulwark-request') ?? null,
        undiciFetchOtelOverUndiciFetch: ratioTo('undici-fetch-otel', 'undici-fetch') ?? null,
        undiciRequestOtelOverUndiciRequest: ratioTo('undici-request-otel', 'undici-request') ?? null,
      },
      // OpenTelemetry on × off per case, and the CPU it adds per request (per-round differences);
      // then bulwark/otel's ratio over the official undici instrumentation's, per round.
      otelReference,
      otelRelative,
      targets,
    });
    console.log(`wrote ${json}`);
  } finally {
    for (const r of runners.values()) await r.close().catch(() => {});
    child.disconnect();
    h2Server?.child.disconnect();
  }
});

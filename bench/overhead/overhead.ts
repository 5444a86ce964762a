/**
 * Macro bench: throughput of `client.request` and `client.fetch` (every policy on: the defaults)
 * against the peers on the same loopback upstream, which runs in its own process (server.ts):
 * raw undici `Pool.request`, undici `fetch` with an undici dispatcher, `node:http` with a
 * keep-alive agent, got, axios, and undici wrapped in cockatiel retry + breaker + timeout. Every
 * case keeps `--inflight` requests in flight over as many connections for `--duration` ms per
 * round; rounds are interleaved (a fresh seeded order each round, each turn preceded by an untimed
 * `--settle`) and each case's ratio to raw undici request is taken per round, then the median.
 * Each turn also records this process's CPU time and GC pauses per request (the server runs
 * apart), which tell a case that costs more CPU from one that was caught in a GC-heavy stretch.
 * Writes `bench/results/overhead.json`.
 *
 * Short turns over many rounds: this VM's loopback throughput drifts by ±30 % over seconds, and a
 * ratio taken between turns a second apart cancels most of that drift. The ratio's median comes
 * with a distribution-free 95 % interval. `--cases undici-request,undici-request-2` is the A/A
 * check of the method itself (two identical clients; 1.00 expected).
 *
 *   node bench/overhead/overhead.ts [--rounds 20] [--duration 500] [--inflight 100] [--cases ...]
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { basename, join, resolve as resolvePath } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import axios from 'axios';
import {
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleAll,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import got from 'got';
import { Agent, type Dispatcher, Pool, fetch as undiciFetch } from 'undici';
import { type ClientOptions, KEEP_ALIVE_DEFAULTS, TIMEOUT_DEFAULTS } from '../../src/client/options.ts';
import { createClient } from '../../src/client.ts';
import { type AttemptLink, BulwarkAgent, kAttempt } from '../../src/transport/agent.ts';
import { createConnector } from '../../src/transport/connect.ts';
import { systemResolver } from '../../src/transport/system-resolver.ts';
import { type Command, main, usageCheck } from '../lib/args.ts';
import { fmt, Progress, table, writeResults } from '../lib/report.ts';
import { medianInterval, type Spread, spread } from '../lib/stats.ts';

/** One contender: `setup` makes its client for `url`; `one()` makes one request and reads the body. */
interface Case {
  readonly id: string;
  readonly label: string;
  setup(url: string, connections: number): Promise<{ one: () => Promise<void>; close: () => Promise<void> }>;
}

/** Raw undici `Pool.request`: the baseline (and its A/A twin). */
function rawRequestCase(id: string, label: string): Case {
  return {
    id,
    label,
    async setup(url, connections) {
      const origin = new URL(url).origin;
      const pool = new Pool(origin, { connections, pipelining: 1 });
      return {
        one: async () => {
          const res = await pool.request({ origin, path: '/', method: 'GET' });
          await res.body.text();
        },
        close: () => pool.close(),
      };
    },
  };
}

/** A Bulwark client made by `create` (this checkout's or a baseline's), through one front-end. */
function clientCase(
  id: string,
  label: string,
  via: 'request' | 'fetch',
  create: typeof createClient,
  options: ClientOptions = {},
): Case {
  return {
    id,
    label,
    async setup(url, connections) {
      const client = create({ ...options, connections });
      return {
        one:
          via === 'request'
            ? async () => {
                const res = await client.request(url);
                await res.body.text();
              }
            : async () => {
                const res = await client.fetch(url);
                await res.text();
              },
        close: () => client.close(),
      };
    },
  };
}

const CASES: readonly Case[] = [
  rawRequestCase('undici-request', 'undici Pool.request (raw)'),
  clientCase('bulwark-request', 'Bulwark client.request', 'request', createClient),
  // The same as the baseline: an A/A check of how far apart two equal clients measure.
  rawRequestCase('undici-request-2', 'undici Pool.request (raw, a second pool)'),
  {
    id: 'bulwark-agent',
    label: "undici request on Bulwark's agent (no policies)",
    async setup(url, connections) {
      // The transport alone: Bulwark's per-origin pool (tracked connections, three-phase
      // connector), driven as the client drives it (callback form, the attempt link through which
      // the agent hands out the request's controller) but without the call pipeline. Not in the
      // default set; for decomposing the overhead.
      const origin = new URL(url).origin;
      const agent = new BulwarkAgent({
        connector: createConnector({
          resolver: systemResolver,
          timeouts: TIMEOUT_DEFAULTS,
          tcpKeepAliveDelay: KEEP_ALIVE_DEFAULTS.tcpKeepAliveDelay,
          tls: {},
        }),
        connections,
        idleTimeout: KEEP_ALIVE_DEFAULTS.idleTimeout,
        maxLifetime: KEEP_ALIVE_DEFAULTS.maxLifetime,
        lifetimeJitter: KEEP_ALIVE_DEFAULTS.lifetimeJitter,
        headersTimeout: TIMEOUT_DEFAULTS.headers,
        bodyTimeout: TIMEOUT_DEFAULTS.body,
        random: Math.random,
      });
      const pool = agent.pool(origin);
      return {
        one: () =>
          new Promise<void>((resolve, reject) => {
            const link: AttemptLink = {
              client: undefined,
              reusedConnection: undefined,
              attemptOptions: undefined,
              reason: undefined,
              controller: undefined,
            };
            const opts = { origin, path: '/', method: 'GET', [kAttempt]: link };
            (link as { attemptOptions: object }).attemptOptions = opts;
            pool.request(opts as unknown as Dispatcher.RequestOptions, (err, data) => {
              if (err) reject(err);
              else data.body.text().then(() => resolve(), reject);
            });
          }),
        close: () => agent.close(),
      };
    },
  },
  clientCase('bulwark-request-bare', 'Bulwark client.request, policies off', 'request', createClient, {
    retry: false,
    breaker: false,
    bulkhead: false,
  }),
  {
    id: 'undici-fetch',
    label: 'undici fetch (Agent dispatcher)',
    async setup(url, connections) {
      const dispatcher = new Agent({ connections, pipelining: 1 });
      return {
        one: async () => {
          const res = await undiciFetch(url, { dispatcher });
          await res.text();
        },
        close: () => dispatcher.close(),
      };
    },
  },
  clientCase('bulwark-fetch', 'Bulwark client.fetch', 'fetch', createClient),
  {
    id: 'node-http',
    label: 'node:http keep-alive agent',
    async setup(url, connections) {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: connections });
      return {
        one: () =>
          new Promise<void>((resolve, reject) => {
            const req = httpRequest(url, { agent }, (res) => {
              res.setEncoding('utf8');
              let length = 0;
              res.on('data', (c: string) => {
                length += c.length;
              });
              res.on('end', () => {
                sink += length;
                resolve();
              });
              res.on('error', reject);
            });
            req.on('error', reject);
            req.end();
          }),
        close: async () => agent.destroy(),
      };
    },
  },
  {
    id: 'got',
    label: 'got (keep-alive agent)',
    async setup(url, connections) {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: connections });
      const client = got.extend({ agent: { http: agent } });
      return {
        one: async () => {
          await client(url).text();
        },
        close: async () => agent.destroy(),
      };
    },
  },
  {
    id: 'axios',
    label: 'axios (keep-alive agent)',
    async setup(url, connections) {
      const agent = new HttpAgent({ keepAlive: true, maxSockets: connections });
      const client = axios.create({ httpAgent: agent, responseType: 'text' });
      return {
        one: async () => {
          await client.get(url);
        },
        close: async () => agent.destroy(),
      };
    },
  },
  {
    id: 'cockatiel',
    label: 'cockatiel retry+breaker+timeout over undici',
    async setup(url, connections) {
      const origin = new URL(url).origin;
      const pool = new Pool(origin, { connections, pipelining: 1 });
      const policy = wrap(
        retry(handleAll, { maxAttempts: 2, backoff: new ExponentialBackoff() }),
        circuitBreaker(handleAll, { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(5) }),
        timeout(10_000, TimeoutStrategy.Aggressive),
      );
      return {
        one: () =>
          policy.execute(async ({ signal }) => {
            const res = await pool.request({ origin, path: '/', method: 'GET', signal });
            await res.body.text();
          }),
        close: () => pool.close(),
      };
    },
  },
];

/** Cases that take the client apart rather than compare it with a peer: run them with --cases. */
const DECOMPOSITION = ['undici-request-2', 'bulwark-agent', 'bulwark-request-bare'];

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
    default: CASES.map((c) => c.id).filter((id) => !DECOMPOSITION.includes(id)),
    choices: CASES.map((c) => c.id),
    help: 'cases to run',
  },
  baseline: {
    type: 'string',
    default: '',
    help: 'another checkout of Bulwark (e.g. a git worktree of an older commit): its client.request and client.fetch run as two more cases, for a before/after in one run',
  },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/overhead/overhead.ts',
  summary:
    'Throughput against the peers: Bulwark client.request / client.fetch (all policies on) vs raw undici request / fetch, node:http, got, axios, cockatiel + undici; loopback server in its own process.',
  knobs,
  examples: [
    'npm run bench:overhead -- --rounds 60 --duration 300 --cases undici-request,bulwark-request,undici-fetch,bulwark-fetch',
    'npm run bench:overhead -- --cases undici-request,undici-request-2   # A/A: the method itself',
    'npm run bench:overhead -- --rounds 20 --count 20000 --settle 0 --cases undici-request,bulwark-request   # fixed request counts per turn',
    'git worktree add /tmp/before HEAD~5 && ln -s "$PWD/node_modules" /tmp/before/ && npm run bench:overhead -- --cases undici-request,bulwark-request,undici-fetch,bulwark-fetch --baseline /tmp/before',
  ],
};

let sink = 0;
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

/** Milliseconds of GC pauses in this process so far (V8's `gc` performance entries). */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** One timed turn: requests per second, and this process's CPU time and GC pauses per request. */
interface Turn {
  readonly rps: number;
  readonly cpuUs: number;
  readonly gcUs: number;
}

/** Keeps `inflight` calls of `one` going for `ms`, or until `count` have been made (count > 0). */
async function measure(one: () => Promise<void>, inflight: number, ms: number, count = 0): Promise<Turn> {
  let done = 0;
  let started = 0;
  const gc0 = gcMs;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  const more = count > 0 ? () => started++ < count : () => performance.now() < end;
  const worker = async (): Promise<void> => {
    while (more()) {
      await one();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await new Promise((resolve) => setImmediate(resolve)); // lets the turn's last gc entries arrive
  return {
    rps: done / (elapsed / 1000),
    cpuUs: (cpu.user + cpu.system) / done,
    gcUs: ((gcMs - gc0) * 1000) / done,
  };
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

/** `client.request` and `client.fetch` of the Bulwark checked out at `dir`. */
async function baselineCases(dir: string): Promise<Case[]> {
  const entry = join(resolvePath(dir), 'src', 'client.ts');
  usageCheck(existsSync(entry), `--baseline: no Bulwark checkout at ${dir} (${entry} is missing)`);
  const { createClient: create } = (await import(pathToFileURL(entry).href)) as {
    createClient: typeof createClient;
  };
  const at = basename(resolvePath(dir));
  return [
    clientCase('baseline-request', `Bulwark client.request (${at})`, 'request', create),
    clientCase('baseline-fetch', `Bulwark client.fetch (${at})`, 'fetch', create),
  ];
}

await main(cmd, async (v) => {
  const cases = CASES.filter((c) => v.cases.includes(c.id));
  if (v.baseline !== '') cases.push(...(await baselineCases(v.baseline)));
  const { url, child } = await startServer();
  const progress = new Progress(v.quiet);
  try {
    const clients = new Map<string, Awaited<ReturnType<Case['setup']>>>();
    // One connection per request in flight, for every case. With more allowed (Bulwark's default
    // is 256), undici's Pool opens more connections than requests in flight whenever the server is
    // slow to answer, which it is during the first warm-up: the first client measured ended with
    // 256 connections and ran 10 % slower than an identical second one (an A/A check, 120 rounds).
    const connections = v.connections === 0 ? v.inflight : v.connections;
    for (const c of cases) clients.set(c.id, await c.setup(url, connections));
    // Warm-up: connections opened, JIT settled.
    for (const c of cases) {
      progress.update(`overhead: warm-up ${c.label}`);
      await measure(clients.get(c.id)!.one, v.inflight, Math.min(1_000, v.duration));
    }
    const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const cpuUs = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const gcUs = new Map<string, number[]>(cases.map((c) => [c.id, []]));
    const random = seeded(v.seed);
    for (let r = 0; r < v.rounds; r++) {
      // A fresh order every round: with a fixed rotation each case always follows the same other
      // case and inherits its garbage and socket state (an A/A pair measured 1.11 apart that way).
      const order = shuffle([...cases], random);
      for (const c of order) {
        progress.update(`overhead: round ${r + 1}/${v.rounds}, ${c.label}`);
        // Untimed, the case runs alone first: whatever the case before it left behind (garbage to
        // collect, sockets to drain) is paid here, and connections that idled out are reopened.
        if (v.settle > 0) await measure(clients.get(c.id)!.one, v.inflight, v.settle);
        const turn = await measure(clients.get(c.id)!.one, v.inflight, v.duration, v.count);
        samples.get(c.id)!.push(turn.rps);
        cpuUs.get(c.id)!.push(turn.cpuUs);
        gcUs.get(c.id)!.push(turn.gcUs);
      }
    }
    progress.done();
    for (const c of clients.values()) await c.close();
    const stats = new Map<string, Spread>(cases.map((c) => [c.id, spread(samples.get(c.id)!)]));
    // Ratios per round (each case against the baseline measured in the same round), then the median.
    const ratioTo = (id: string, base: string): Spread | undefined => {
      const xs = samples.get(id);
      const bs = samples.get(base);
      return xs && bs ? spread(xs.map((x, i) => x / bs[i]!)) : undefined;
    };
    const base = 'undici-request';
    console.log(
      `throughput, ${v.inflight} in flight, ${v.rounds} interleaved rounds × ${v.count > 0 ? `${v.count} requests` : `${v.duration} ms`}, loopback server in its own process, node ${process.version}`,
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
    const reqRatio = ratioTo('bulwark-request', 'undici-request');
    const fetchRatio = ratioTo('bulwark-fetch', 'undici-fetch');
    const targets = [
      reqRatio && {
        target: 'client.request ≥ 0.95 × raw undici Pool.request',
        measured: reqRatio.median,
        interval95: medianInterval(reqRatio.samples),
        met: reqRatio.median >= 0.95,
      },
      fetchRatio && {
        target: 'client.fetch ≥ 0.95 × undici fetch (same dispatcher)',
        measured: fetchRatio.median,
        interval95: medianInterval(fetchRatio.samples),
        met: fetchRatio.median >= 0.95,
      },
    ].filter((t) => t !== undefined);
    if (targets.length > 0) {
      console.log('targets (DESIGN.md), median of the per-round ratios [95 % interval]:');
      for (const t of targets) {
        const { lo, hi } = t.interval95;
        console.log(
          `  ${t.met ? 'met   ' : 'MISSED'} ${t.target}: ${t.measured.toFixed(3)} [${lo.toFixed(3)}–${hi.toFixed(3)}]`,
        );
      }
    }
    const json = writeResults('overhead', {
      rounds: v.rounds,
      durationMs: v.count > 0 ? null : v.duration,
      requestsPerTurn: v.count > 0 ? v.count : null,
      inflight: v.inflight,
      connections,
      unit: 'requests/s',
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
      },
      targets,
      sink,
    });
    console.log(`wrote ${json}`);
  } finally {
    child.disconnect();
  }
});

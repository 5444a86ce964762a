/**
 * The contenders of the overhead bench (overhead.ts) and the timed turn that measures one of them.
 * A case runs either in the bench's own process, beside the others, or alone in a worker process
 * of its own (worker.ts, the default); both run it through {@link measure}.
 */
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
import { createClient } from '../../src/client/client.ts';
import { createAgent } from '../../src/client/create-agent.ts';
import { type ClientOptions, resolveClientOptions } from '../../src/client/options.ts';
import { type AttemptLink, type BulwarkAgent, kAttempt } from '../../src/transport/agent.ts';
import { usageCheck } from '../lib/args.ts';
import { otelClientCase, undiciOtelCase } from './otel.ts';

/**
 * Where the node:http case counts the body it reads, exported so the count stays observable and
 * no read is optimised away. Each worker process has its own; nobody reports it.
 */
export let sink = 0;

import type { Case, H2Upstream } from './case.ts';

export type { Case, H2Upstream };

/** Whether a case talks to the HTTP/2 upstream. */
export function isH2Case(id: string): boolean {
  return id.includes('-h2-');
}

function h2Of(h2: H2Upstream | undefined): H2Upstream {
  if (h2 === undefined) throw new Error('an h2 case needs the HTTP/2 upstream');
  return h2;
}

/**
 * The HTTP/2 cases: undici's own h2 (Pool.request, and fetch on an Agent) against Bulwark's
 * client.request and client.fetch with `allowH2`, all on one node:http2 upstream, every request
 * a stream of one connection (undici's default of 100 streams, as many as the bench keeps in
 * flight by default).
 */
const H2_CASES: readonly Case[] = [
  {
    id: 'undici-h2-request',
    label: 'undici Pool.request over h2 (raw)',
    async setup(_url, connections, h2) {
      const { url, ca } = h2Of(h2);
      const origin = new URL(url).origin;
      const pool = new Pool(origin, { connections, allowH2: true, connect: { ca } });
      return {
        one: async () => {
          const res = await pool.request({ origin, path: '/', method: 'GET' });
          await res.body.text();
        },
        close: () => pool.close(),
      };
    },
  },
  {
    id: 'bulwark-h2-request',
    label: 'Bulwark client.request over h2',
    async setup(_url, connections, h2) {
      const { url, ca } = h2Of(h2);
      const client = createClient({ connections, allowH2: true, tls: { ca } });
      return {
        one: async () => {
          const res = await client.request(url);
          await res.body.text();
        },
        close: () => client.close(),
      };
    },
  },
  {
    id: 'undici-h2-fetch',
    label: 'undici fetch over h2 (Agent dispatcher)',
    async setup(_url, connections, h2) {
      const { url, ca } = h2Of(h2);
      const dispatcher = new Agent({ connections, allowH2: true, connect: { ca } });
      return {
        one: async () => {
          const res = await undiciFetch(url, { dispatcher });
          await res.text();
        },
        close: () => dispatcher.close(),
      };
    },
  },
  {
    id: 'bulwark-h2-fetch',
    label: 'Bulwark client.fetch over h2',
    async setup(_url, connections, h2) {
      const { url, ca } = h2Of(h2);
      const client = createClient({ connections, allowH2: true, tls: { ca } });
      return {
        one: async () => {
          const res = await client.fetch(url);
          await res.text();
        },
        close: () => client.close(),
      };
    },
  },
];

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

/** Raw undici `fetch` on undici's own `Agent`. */
const UNDICI_FETCH: Case = {
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
};

/** The baseline every case is compared with: raw undici `Pool.request`. */
const UNDICI_REQUEST = rawRequestCase('undici-request', 'undici Pool.request (raw)');

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

/** A request body of the stream cases: a few bytes, streamed (sent chunked, never retried). */
const STREAMED = new TextEncoder().encode('{"id":1}');

/**
 * The shapes of fetch call the bench measures besides a plain GET, each made afresh per request
 * as a caller makes it: headers in a `Headers` object, and a `ReadableStream` body.
 */
const SHAPES = {
  headers: (): RequestInit => ({
    headers: new Headers({ accept: 'application/json', 'x-request-id': '1f0c2a' }),
  }),
  stream: (): RequestInit & { duplex: 'half' } => ({
    method: 'POST',
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(STREAMED);
        controller.close();
      },
    }),
    duplex: 'half',
  }),
} as const;

/** undici's fetch on Bulwark's agent (the same dispatcher as client.fetch), for one shape of call. */
function undiciFetchShapeCase(shape: keyof typeof SHAPES, label: string): Case {
  return {
    id: `undici-fetch-agent-${shape}`,
    label,
    async setup(url, connections) {
      const agent = bulwarkAgent(connections);
      const dispatcher = agent as unknown as Dispatcher;
      const init = SHAPES[shape];
      return {
        one: async () => {
          const res = await undiciFetch(url, { ...(init() as object), dispatcher });
          await res.text();
        },
        close: () => agent.close(),
      };
    },
  };
}

/** client.fetch (every policy on) for one shape of call. */
function bulwarkFetchShapeCase(shape: keyof typeof SHAPES, label: string): Case {
  return {
    id: `bulwark-fetch-${shape}`,
    label,
    async setup(url, connections) {
      const client = createClient({ connections });
      const init = SHAPES[shape];
      return {
        one: async () => {
          const res = await client.fetch(url, init() as never);
          await res.text();
        },
        close: () => client.close(),
      };
    },
  };
}

/** The agent `createClient({ connections })` would use (no DNS cache: the URL is an address). */
function bulwarkAgent(connections: number): BulwarkAgent {
  return createAgent(resolveClientOptions({ dns: false, connections }));
}

export const CASES: readonly Case[] = [
  UNDICI_REQUEST,
  clientCase('bulwark-request', 'Bulwark client.request', 'request', createClient),
  // The same as the baseline: an A/A check of how far apart two equal clients measure.
  rawRequestCase('undici-request-2', 'undici Pool.request (raw, a second pool)'),
  {
    id: 'bulwark-agent',
    label: "undici request on Bulwark's agent (no policies)",
    async setup(url, connections) {
      // The transport alone: Bulwark's per-origin pool (tracked connections, three-phase
      // connector, the attempt link the connection that takes a request writes itself into),
      // driven through undici's request API, without the call pipeline or the client's own
      // dispatch handler. Not in the default set; for decomposing the overhead.
      const origin = new URL(url).origin;
      const agent = bulwarkAgent(connections);
      const pool = agent.pool(origin);
      return {
        one: () =>
          new Promise<void>((resolve, reject) => {
            const link: AttemptLink = { client: undefined, reusedConnection: undefined };
            const opts = { origin, path: '/', method: 'GET', [kAttempt]: link };
            pool.request(opts as unknown as Dispatcher.RequestOptions, (err, data) => {
              if (err) reject(err);
              else data.body.text().then(() => resolve(), reject);
            });
          }),
        close: () => agent.close(),
      };
    },
  },
  {
    id: 'bulwark-request-dispatcher',
    label: "Bulwark client.request over the caller's undici Pool (the dispatcher option)",
    async setup(url, connections) {
      // Every policy over the raw baseline's own dispatcher: what the policies and the client's
      // handler cost where the transport is the caller's. Not in the default set.
      const pool = new Pool(new URL(url).origin, { connections, pipelining: 1 });
      const client = createClient({ dispatcher: pool });
      return {
        one: async () => {
          const res = await client.request(url);
          await res.body.text();
        },
        close: async () => {
          await client.close();
          await pool.close();
        },
      };
    },
  },
  otelClientCase(
    'bulwark-request-otel',
    'Bulwark client.request, OpenTelemetry on (bulwark/otel)',
    'request',
  ),
  otelClientCase('bulwark-fetch-otel', 'Bulwark client.fetch, OpenTelemetry on (bulwark/otel)', 'fetch'),
  otelClientCase(
    'bulwark-request-otel-metrics',
    'Bulwark client.request, OpenTelemetry metrics only',
    'request',
    'metrics',
  ),
  otelClientCase(
    'bulwark-request-otel-sampled',
    'Bulwark client.request, OpenTelemetry, 10 % of traces sampled',
    'request',
    'sampled',
  ),
  // The field's reference point: OpenTelemetry's own undici instrumentation on raw undici, each
  // judged against its uninstrumented twin (undici-fetch, undici-request).
  undiciOtelCase(
    'undici-fetch-otel',
    'undici fetch (Agent dispatcher), OpenTelemetry on (official undici instrumentation)',
    UNDICI_FETCH,
  ),
  undiciOtelCase(
    'undici-request-otel',
    'undici Pool.request (raw), OpenTelemetry on (official undici instrumentation)',
    UNDICI_REQUEST,
  ),
  clientCase('bulwark-request-bare', 'Bulwark client.request, policies off', 'request', createClient, {
    retry: false,
    breaker: false,
    bulkhead: false,
  }),
  UNDICI_FETCH,
  {
    id: 'undici-fetch-agent',
    label: "undici fetch on Bulwark's agent (the same dispatcher)",
    async setup(url, connections) {
      // undici's fetch with the dispatcher client.fetch uses (the same pools), without the call
      // pipeline: the "same dispatcher" the fetch target names, so it is in the default set.
      const agent = bulwarkAgent(connections);
      const dispatcher = agent as unknown as Dispatcher;
      return {
        one: async () => {
          const res = await undiciFetch(url, { dispatcher });
          await res.text();
        },
        close: () => agent.close(),
      };
    },
  },
  clientCase('bulwark-fetch', 'Bulwark client.fetch', 'fetch', createClient),
  undiciFetchShapeCase('headers', "undici fetch on Bulwark's agent, a Headers object"),
  bulwarkFetchShapeCase('headers', 'Bulwark client.fetch, a Headers object'),
  undiciFetchShapeCase('stream', "undici fetch on Bulwark's agent, a ReadableStream body (POST)"),
  bulwarkFetchShapeCase('stream', 'Bulwark client.fetch, a ReadableStream body (POST)'),
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
  ...H2_CASES,
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
export const DECOMPOSITION = ['undici-request-2', 'bulwark-agent', 'bulwark-request-bare'];

/** Milliseconds of GC pauses in this process so far (V8's `gc` performance entries). */
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });

/** One timed turn: requests per second, and this process's CPU time and GC pauses per request. */
export interface Turn {
  readonly rps: number;
  readonly cpuUs: number;
  readonly gcUs: number;
}

/** Keeps `inflight` calls of `one` going for `ms`, or until `count` have been made (count > 0). */
export async function measure(
  one: () => Promise<void>,
  inflight: number,
  ms: number,
  count = 0,
): Promise<Turn> {
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

/** `client.request` and `client.fetch` of the Bulwark checked out at `dir`. */
export async function baselineCases(dir: string): Promise<Case[]> {
  // The client's home: src/client/client.ts since the restructuring (issue 17), src/client.ts before.
  const entry =
    [join(resolvePath(dir), 'src', 'client', 'client.ts'), join(resolvePath(dir), 'src', 'client.ts')].find(
      (file) => existsSync(file),
    ) ?? '';
  usageCheck(
    entry !== '',
    `--baseline: no Bulwark checkout at ${dir} (no src/client/client.ts nor src/client.ts)`,
  );
  const { createClient: create } = (await import(pathToFileURL(entry).href)) as {
    createClient: typeof createClient;
  };
  const at = basename(resolvePath(dir));
  return [
    clientCase('baseline-request', `Bulwark client.request (${at})`, 'request', create),
    clientCase('baseline-fetch', `Bulwark client.fetch (${at})`, 'fetch', create),
  ];
}

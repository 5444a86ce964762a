/**
 * Micro bench: what building one fetch `Response` costs. The direct path builds its response with
 * undici's public `Response` constructor (a subclass carrying url, type, status and the raw header
 * fields: src/http/fetch-response.ts); before, it used undici's internal chain (`makeResponse`,
 * `filterResponse`, `fromInnerResponse` from undici's private lib/ files, loaded here for the
 * comparison only). Each case builds the response of a typical reply (five header fields, a byte
 * stream body) from the fields as the dispatcher hands them over, in interleaved rounds; prints
 * median ns per response with a 95 % interval and writes `bench/results/response-cost.json`.
 *
 *   node bench/overhead/response-cost.ts [--rounds 12] [--responses 100000]
 */
import { createRequire } from 'node:module';
import { Response } from 'undici';
import { DirectResponse } from '../../src/http/fetch-response.ts';
import { type Command, main } from '../lib/args.ts';
import { fmt, Progress, table, writeResults } from '../lib/report.ts';
import { medianInterval, type Spread, spread } from '../lib/stats.ts';

const knobs = {
  rounds: { type: 'integer', default: 12, min: 4, max: 1000, help: 'interleaved rounds' },
  responses: { type: 'integer', default: 100_000, min: 1000, help: 'responses per case per round' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/overhead/response-cost.ts',
  summary:
    "CPU per fetch Response built: undici's public constructor (the direct path's subclass, and plain) vs undici's internal response chain.",
  knobs,
};

/** undici's internals, as the direct path used them before (bench only: src/ loads no lib/ file). */
const requireUndici = createRequire(import.meta.url);
type HeadersList = { append(name: string, value: string, lower: boolean): void };
const { HeadersList } = requireUndici('undici/lib/web/fetch/headers.js') as {
  HeadersList: new () => HeadersList;
};
const { makeResponse, filterResponse, fromInnerResponse } = requireUndici(
  'undici/lib/web/fetch/response.js',
) as {
  makeResponse(init: object): { body: unknown };
  filterResponse(response: object, type: string): object;
  fromInnerResponse(response: object, guard: string): object;
};

/** A reply's header fields as the dispatcher gives them (raw, as latin1 buffers). */
const RAW = [
  ['Content-Type', 'application/json; charset=utf-8'],
  ['Content-Length', '27'],
  ['Date', 'Fri, 04 Dec 2026 17:00:00 GMT'],
  ['Connection', 'keep-alive'],
  ['Keep-Alive', 'timeout=5'],
].flatMap(([n, v]) => [Buffer.from(n as string, 'latin1'), Buffer.from(v as string, 'latin1')]);
const URL_LIST = [new URL('http://127.0.0.1:8080/v1/items/1')];

const body = (): ReadableStream => new ReadableStream({ type: 'bytes' });

interface Case {
  readonly id: string;
  readonly label: string;
  one(): unknown;
}

const cases: Case[] = [
  {
    id: 'direct',
    label: 'public constructor: the direct path (DirectResponse)',
    one: () => {
      const names: string[] = [];
      const values: string[] = [];
      for (let i = 0; i < RAW.length; i += 2) {
        names.push((RAW[i] as Buffer).toString('latin1').toLowerCase());
        values.push((RAW[i + 1] as Buffer).toString('latin1'));
      }
      return new DirectResponse(body(), 200, 'OK', names, values, URL_LIST, 'basic');
    },
  },
  {
    id: 'public',
    label: 'public constructor, plain: new Response(body, { status, statusText, headers })',
    one: () => {
      const headers: [string, string][] = [];
      for (let i = 0; i < RAW.length; i += 2) {
        headers.push([
          (RAW[i] as Buffer).toString('latin1').toLowerCase(),
          (RAW[i + 1] as Buffer).toString('latin1'),
        ]);
      }
      return new Response(body(), { status: 200, statusText: 'OK', headers });
    },
  },
  {
    id: 'internal',
    label: "undici's internal chain (makeResponse, filterResponse, fromInnerResponse)",
    one: () => {
      const list = new HeadersList();
      for (let i = 0; i < RAW.length; i += 2) {
        list.append(
          (RAW[i] as Buffer).toString('latin1').toLowerCase(),
          (RAW[i + 1] as Buffer).toString('latin1'),
          true,
        );
      }
      const inner = makeResponse({ status: 200, statusText: 'OK', headersList: list, urlList: URL_LIST });
      inner.body = { stream: body(), source: null, length: null };
      return fromInnerResponse(filterResponse(inner, 'basic'), 'immutable');
    },
  },
];

let sink = 0;

function run(c: Case, n: number): void {
  for (let i = 0; i < n; i++) if (c.one() !== null) sink++;
}

await main(cmd, async (v) => {
  const progress = new Progress(v.quiet);
  for (const c of cases) run(c, Math.min(v.responses, 20_000)); // warm-up
  const samples = new Map<string, number[]>(cases.map((c) => [c.id, []]));
  for (let r = 0; r < v.rounds; r++) {
    for (let k = 0; k < cases.length; k++) {
      const c = cases[(k + r) % cases.length] as Case;
      progress.update(`response cost: round ${r + 1}/${v.rounds}, ${c.label}`);
      const t0 = process.hrtime.bigint();
      run(c, v.responses);
      samples.get(c.id)?.push(Number(process.hrtime.bigint() - t0) / v.responses);
      // Lets the finalisation registry and the streams' ticks run between turns.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  progress.done();
  const s = new Map<string, Spread>(cases.map((c) => [c.id, spread(samples.get(c.id) ?? [])]));
  const ratio = (a: string, b: string): Spread =>
    spread((samples.get(a) ?? []).map((x, i) => x / ((samples.get(b) ?? [])[i] as number)));
  console.log(
    `ns per Response built (GC included), ${v.rounds} interleaved rounds × ${v.responses}, node ${process.version}`,
  );
  console.log(
    table(
      [
        { header: 'case', align: 'left' },
        { header: 'median ns' },
        { header: '95 % interval' },
        { header: 'spread' },
      ],
      cases.map((c) => {
        const x = s.get(c.id) as Spread;
        const ci = medianInterval(x.samples);
        return [c.label, fmt(x.median, 0), `${fmt(ci.lo, 0)}–${fmt(ci.hi, 0)}`, `±${fmt(x.spreadPct, 1)} %`];
      }),
    ),
  );
  const directOverInternal = ratio('direct', 'internal');
  const ci = medianInterval(directOverInternal.samples);
  console.log(
    `direct ÷ internal chain, per round: ${fmt(directOverInternal.median, 3)} [${fmt(ci.lo, 3)}–${fmt(ci.hi, 3)}]`,
  );
  const json = writeResults('response-cost', {
    rounds: v.rounds,
    responses: v.responses,
    unit: 'ns/response',
    cases: cases.map((c) => ({ id: c.id, label: c.label, ...s.get(c.id) })),
    directOverInternal,
    sink,
  });
  console.log(`wrote ${json}`);
});

/**
 * Micro bench: a DNS cache hit (`peek`, `resolve`, the `lookup` function) against `dns.lookup` of
 * the same name in the same run, in interleaved rounds; prints median ns/op and the ratios and writes
 * `bench/results/dns-cache.json`. Target: a cache hit ≤ 2 µs.
 *
 *   node bench/dns-cache.ts [--rounds=6] [--hits=200000] [--lookups=3000] [--host=localhost]
 */
import { lookup } from 'node:dns';
import { writeFileSync } from 'node:fs';
import { DnsCache } from '../src/transport/dns-cache.ts';
import { knobsOrExit } from './lib/args.ts';
import { resultsDir } from './lib/report.ts';

const values = knobsOrExit({
  name: 'bench/dns-cache.ts',
  summary: 'Micro bench: DNS cache hits against dns.lookup of the same name, interleaved rounds.',
  knobs: {
    rounds: { type: 'integer', default: 6, min: 4, max: 1000, help: 'interleaved rounds' },
    hits: { type: 'integer', default: 200_000, min: 1, help: 'cache hits per case per round' },
    lookups: { type: 'integer', default: 3_000, min: 1, help: 'dns.lookup calls per round' },
    host: { type: 'string', default: 'localhost', help: 'name to resolve' },
  },
});
const rounds = values.rounds;
const hits = values.hits;
const lookups = values.lookups;
const host = values.host;

// A long systemTtl keeps `localhost` (answered by the system fallback) fresh for the whole run.
const cache = new DnsCache({ systemTtl: 3_600_000 });
await cache.resolve(host);
await cache.resolve(`app.${host}`);

let sink = 0;

interface Case {
  readonly name: string;
  readonly ops: number;
  run(ops: number): Promise<void> | void;
}

type Lookup = (name: string, callback: (err: Error | null, address: string) => void) => void;

/** One lookup through a callback-style function, awaited. */
function lookupOnce(fn: Lookup, name: string): Promise<void> {
  return new Promise((resolve, reject) => {
    fn(name, (err, address) => {
      if (err) return reject(err);
      sink += address.length;
      resolve();
    });
  });
}
const systemLookup: Lookup = (name, callback) => lookup(name, callback);
const cacheLookup: Lookup = (name, callback) => cache.lookup(name, callback);

const cases: Case[] = [
  {
    name: 'cache.peek (hit)',
    ops: hits,
    run(ops) {
      for (let i = 0; i < ops; i++) sink += cache.peek(host)?.addresses.length ?? 0;
    },
  },
  {
    name: 'cache.peek (hit, 2 names alternating)',
    ops: hits,
    run(ops) {
      const names = [host, `app.${host}`];
      for (let i = 0; i < ops; i++) sink += cache.peek(names[i & 1]!)?.addresses.length ?? 0;
    },
  },
  {
    name: 'await cache.resolve (hit)',
    ops: hits,
    async run(ops) {
      for (let i = 0; i < ops; i++) sink += (await cache.resolve(host)).addresses.length;
    },
  },
  {
    name: 'cache.lookup callback (hit)',
    ops: Math.min(hits, 50_000),
    async run(ops) {
      for (let i = 0; i < ops; i++) await lookupOnce(cacheLookup, host);
    },
  },
  {
    name: 'dns.lookup (getaddrinfo)',
    ops: lookups,
    async run(ops) {
      for (let i = 0; i < ops; i++) await lookupOnce(systemLookup, host);
    },
  },
];

// Warm-up: let the JIT settle before anything is measured.
for (const c of cases) await c.run(Math.min(c.ops, 2_000));

const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
for (let r = 0; r < rounds; r++) {
  // Rotate the order each round so no case always runs first (or right after GC-heavy work).
  for (let k = 0; k < cases.length; k++) {
    const c = cases[(k + r) % cases.length]!;
    const start = process.hrtime.bigint();
    await c.run(c.ops);
    const ns = Number(process.hrtime.bigint() - start);
    samples.get(c.name)!.push(ns / c.ops);
  }
}
await cache.close();

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const medians = Object.fromEntries(cases.map((c) => [c.name, median(samples.get(c.name)!)]));
const baseline = medians['dns.lookup (getaddrinfo)']!;

console.log(`DNS cache hit vs dns.lookup('${host}'), ${rounds} interleaved rounds, node ${process.version}`);
console.log(`${'case'.padEnd(40)} ${'median ns/op'.padStart(14)} ${'× faster than dns.lookup'.padStart(26)}`);
for (const c of cases) {
  const ns = medians[c.name]!;
  console.log(
    `${c.name.padEnd(40)} ${ns.toFixed(1).padStart(14)} ${(baseline / ns).toFixed(1).padStart(26)}`,
  );
}
const peek = medians['cache.peek (hit)']!;
const resolve = medians['await cache.resolve (hit)']!;
console.log(
  `target: cache hit ≤ 2000 ns — peek ${peek <= 2_000 ? 'met' : 'MISSED'}, resolve ${resolve <= 2_000 ? 'met' : 'MISSED'}`,
);

const out = new URL('dns-cache.json', resultsDir());
writeFileSync(
  out,
  `${JSON.stringify(
    {
      bench: 'dns-cache',
      date: new Date().toISOString(),
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      host,
      rounds,
      unit: 'ns/op',
      cases: cases.map((c) => ({
        name: c.name,
        ops: c.ops,
        median: medians[c.name],
        samples: samples.get(c.name),
      })),
      ratios: { lookupOverPeek: baseline / peek, lookupOverResolve: baseline / resolve },
      target: { cacheHitNs: 2_000, met: peek <= 2_000 && resolve <= 2_000 },
      sink,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${out.pathname}`);

/**
 * Macro bench: how long `bulwark probe` takes on a healthy host, layer by layer — above all the
 * path layer (its connect samples and padded exchanges), which the default probe must afford
 * within its 5 s goal. Probes a loopback HTTP and HTTPS server (in another process) in
 * interleaved rounds, in-process through `probe()`, and prints the median and slowest duration of
 * each layer and of the whole probe; writes `bench/results/probe.json`.
 *
 *   node bench/probe.ts [--rounds 20] [--samples 10]
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { probe } from '../src/probe/probe.ts';
import { PROBE_LAYERS, type ProbeReport } from '../src/probe/report.ts';
import { getTestPki } from '../test/helpers/certs.ts';
import { main } from './lib/args.ts';
import { fmt, table, writeResults } from './lib/report.ts';
import { median } from './lib/stats.ts';

const SERVER = new URL('../test/helpers/netns-server.ts', import.meta.url).pathname;

await main(
  {
    name: 'bench/probe.ts',
    summary: 'Macro bench: the duration of each probe layer (path included) against a healthy loopback host.',
    knobs: {
      rounds: { type: 'integer', default: 20, min: 1, max: 10_000, help: 'probes per scheme' },
      samples: { type: 'integer', default: 10, min: 0, max: 2_000, help: 'the path layer’s --samples' },
    },
  },
  async ({ rounds, samples }) => {
    const pki = await getTestPki();
    const server = spawn(
      process.execPath,
      [SERVER, JSON.stringify({ host: '127.0.0.1', http: 0, https: 0, ...pki.valid })],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      // The server prints its ports on one line once it listens.
      const line = await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next();
      const ports = JSON.parse(String(line.value)) as { http: number; https: number };
      const urls = {
        http: `http://127.0.0.1:${ports.http}/health`,
        https: `https://127.0.0.1:${ports.https}/health`,
      };
      const reports: Record<'http' | 'https', ProbeReport[]> = { http: [], https: [] };
      for (let i = 0; i < rounds; i++) {
        // Interleaved, the order alternating, so neither scheme always runs first.
        for (const scheme of i % 2 === 0 ? (['http', 'https'] as const) : (['https', 'http'] as const)) {
          const report = await probe(urls[scheme], { samples, ca: pki.ca.cert });
          if (report.verdict !== 'healthy')
            throw new Error(`${scheme}: ${report.verdict}: ${JSON.stringify(report.layers)}`);
          reports[scheme].push(report);
        }
      }
      const rows: string[][] = [];
      const results: Record<string, unknown> = {};
      for (const scheme of ['http', 'https'] as const) {
        const by = (f: (r: ProbeReport) => number | null): { median: number; max: number } => {
          const xs = reports[scheme].map(f).filter((x): x is number => x !== null);
          return { median: median(xs), max: Math.max(...xs) };
        };
        const layers = Object.fromEntries(PROBE_LAYERS.map((l) => [l, by((r) => r.layers[l].duration)]));
        const total = by((r) => r.duration);
        results[scheme] = { layers, total };
        for (const [name, d] of [...Object.entries(layers), ['whole probe', total] as const]) {
          if (Number.isNaN(d.median)) continue;
          rows.push([scheme, name, fmt(d.median, 1), fmt(d.max, 1)]);
        }
      }
      process.stdout.write(
        `${table(
          [
            { header: 'scheme', align: 'left' },
            { header: 'layer', align: 'left' },
            { header: 'median ms' },
            { header: 'slowest ms' },
          ],
          rows,
        )}\n`,
      );
      console.log(`wrote ${writeResults('probe', { rounds, samples, ...results })}`);
    } finally {
      server.stdin?.end();
    }
  },
);

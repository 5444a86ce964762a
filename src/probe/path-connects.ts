/**
 * The path layer's connect samples: `--samples` TCP handshakes per address, at most 64 at a time,
 * all ended at the window's close. Their times give the connect-time distribution, and the ones
 * that waited through SYN retransmit points (about +1 s, +2 s, +3 s over the fastest) count the
 * SYNs lost on the way: `mtr`'s loss column, measured with the packets the service itself gets.
 */
import net from 'node:net';
import { countSyns, minOf } from '../transport/syn-retransmits.ts';
import { ms, type PathConnectReport } from './report.ts';

/** Connects in flight at once, over every address (a probe must not look like a SYN flood). */
export const SAMPLE_CONCURRENCY = 64;

/** An address to sample, with the tcp layer's own handshake time to it (a base RTT candidate). */
export interface SampleTarget {
  readonly address: string;
  readonly family: 4 | 6;
  readonly handshake: number;
}

type Sample = { kind: 'connected'; ms: number } | { kind: 'pending'; ms: number } | { kind: 'failed' };

/**
 * Makes `samples` connects to each target on `port`, none started or waited for after `deadline`
 * (a `performance.now()` time). Never rejects.
 */
export async function sampleConnects(
  targets: readonly SampleTarget[],
  port: number,
  samples: number,
  deadline: number,
): Promise<PathConnectReport[]> {
  const results = targets.map(() => [] as (Sample | undefined)[]);
  const pending = new Set<() => void>();
  // Round robin over the addresses: sample i of every address before sample i + 1 of any.
  const total = samples * targets.length;
  let next = 0;
  const closing = setTimeout(() => {
    for (const end of pending) end();
  }, deadline - performance.now());
  const worker = async (): Promise<void> => {
    while (next < total && performance.now() < deadline) {
      const n = next++;
      const t = n % targets.length;
      results[t]![Math.floor(n / targets.length)] = await connectOnce(targets[t]!, port, pending);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(SAMPLE_CONCURRENCY, total) }, worker));
  } finally {
    clearTimeout(closing);
  }
  return targets.map((target, t) => report(target, results[t]!));
}

/** One handshake, timed; ended (as pending) by the window's close. */
function connectOnce(target: SampleTarget, port: number, pending: Set<() => void>): Promise<Sample> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect({ host: target.address, port, family: target.family });
    const settle = (sample: Sample): void => {
      pending.delete(end);
      socket.destroy();
      resolve(sample);
    };
    const end = (): void => settle({ kind: 'pending', ms: performance.now() - started });
    pending.add(end);
    socket.once('connect', () => settle({ kind: 'connected', ms: performance.now() - started }));
    socket.once('error', () => settle({ kind: 'failed' }));
  });
}

function report(target: SampleTarget, samples: readonly (Sample | undefined)[]): PathConnectReport {
  const started = samples.filter((s): s is Sample => s !== undefined);
  const connected = started.flatMap((s) => (s.kind === 'connected' ? [s.ms] : []));
  const pending = started.flatMap((s) => (s.kind === 'pending' ? [s.ms] : []));
  const sorted = [...connected].sort((a, b) => a - b);
  const base = Math.min(minOf(connected), target.handshake);
  const syns = countSyns(connected, pending, undefined, base);
  const at = (q: number): number | null =>
    sorted.length === 0 ? null : ms(sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!);
  return {
    address: target.address,
    family: target.family,
    samples: started.length,
    connected: connected.length,
    failed: started.length - connected.length - pending.length,
    min: at(0),
    p50: at(0.5),
    p90: at(0.9),
    max: at(1),
    retransmitted: syns.retransmitted,
    synsLost: syns.lost,
    synsSent: syns.sent,
    estimatedLoss: syns.sent === 0 ? null : Math.round((syns.lost / syns.sent) * 1000) / 1000,
    durations: started.map((s) => (s.kind === 'connected' ? ms(s.ms) : null)),
  };
}

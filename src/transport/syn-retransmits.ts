/**
 * The SYN-retransmit signature: a TCP connect whose SYN (or SYN-ACK) is lost completes only after
 * the client retransmits the SYN, one initial RTO (1 s) later, then at the kernel's later backoff
 * points. Connect times therefore cluster at the base RTT plus those points, and counting how many
 * points a connect waited through counts its lost SYNs. The probe's path layer and the client's
 * per-origin statistics both read connect times this way.
 *
 * @see RFC 6298 §2 (initial RTO of 1 s, doubled on each retransmission)
 * @see https://docs.kernel.org/networking/ip-sysctl.html (`tcp_syn_linear_timeouts`, `tcp_syn_retries`)
 */
import { readFileSync } from 'node:fs';

/** The initial retransmission timeout of a SYN, in milliseconds (RFC 6298; Linux `TCP_TIMEOUT_INIT`). */
export const SYN_INITIAL_RTO = 1_000;

/**
 * How far before a retransmit point a connect may complete and still count as having waited for
 * it: the base RTT is the fastest connect seen, and others carry a little scheduling jitter.
 */
export const SIGNATURE_SLACK = 100;

let cached: readonly number[] | undefined;

/**
 * When, after the first SYN, the client sends each retransmission (milliseconds, cumulative). On
 * Linux read from this network namespace's `tcp_syn_linear_timeouts` (Linux ≥ 6.7 retransmits at
 * 1, 2, 3, 4, 5, 7, 11 s by default) and `tcp_syn_retries`; elsewhere, and on older kernels, the
 * RFC 6298 doubling: 1, 3, 7, 15, 31, 63 s.
 */
export function synRetransmitTimes(): readonly number[] {
  cached ??= retransmitTimes(readSysctl('tcp_syn_linear_timeouts') ?? 0, readSysctl('tcp_syn_retries') ?? 6);
  return cached;
}

/**
 * The retransmit points for `linear` retransmissions at the initial RTO before exponential
 * backoff, and `retries` retransmissions in all (the kernel's schedule for an active open).
 */
export function retransmitTimes(linear: number, retries: number): readonly number[] {
  const times: number[] = [];
  let at = 0;
  let rto = SYN_INITIAL_RTO;
  for (let i = 1; i <= retries; i++) {
    at += rto;
    times.push(at);
    if (i > linear) rto *= 2;
  }
  return Object.freeze(times);
}

function readSysctl(name: string): number | undefined {
  try {
    const value = Number.parseInt(readFileSync(`/proc/sys/net/ipv4/${name}`, 'utf8'), 10);
    return Number.isInteger(value) && value >= 0 ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * How many SYNs a connect lost: the retransmit points it waited through, judged by how much
 * longer than the base RTT (the fastest connect to the same place) it took.
 */
export function lostSyns(duration: number, base: number, times: readonly number[]): number {
  const excess = duration - base + SIGNATURE_SLACK;
  let lost = 0;
  while (lost < times.length && times[lost]! <= excess) lost++;
  return lost;
}

/** Lost SYNs and SYNs whose fate is known, over a set of connects. */
export interface SynCount {
  /** Connects that completed. */
  readonly connected: number;
  /** Of those, connects that needed at least one SYN retransmission. */
  readonly retransmitted: number;
  /** SYNs that got no answer (each one a retransmission, or a connect given up on). */
  readonly lost: number;
  /** SYNs whose fate is known: every lost one, plus the one that connected. */
  readonly sent: number;
}

/**
 * Counts lost SYNs: a connect that completed after `k` retransmissions lost `k` of `k + 1` SYNs;
 * one still pending after `elapsed` milliseconds lost every SYN it retransmitted by then (the last
 * one's fate is unknown, so it is not counted). Lost ÷ sent is the maximum-likelihood estimate of
 * the loss rate of SYNs and SYN-ACKs on the path. `base` defaults to the fastest connect.
 */
export function countSyns(
  durations: ArrayLike<number>,
  pending: readonly number[] = [],
  times: readonly number[] = synRetransmitTimes(),
  base: number = minOf(durations),
): SynCount {
  let retransmitted = 0;
  let lost = 0;
  for (let i = 0; i < durations.length; i++) {
    const k = lostSyns(durations[i]!, base, times);
    if (k > 0) retransmitted++;
    lost += k;
  }
  let pendingLost = 0;
  for (const elapsed of pending) {
    let k = 0;
    while (k < times.length && times[k]! <= elapsed) k++;
    pendingLost += k;
  }
  return {
    connected: durations.length,
    retransmitted,
    lost: lost + pendingLost,
    sent: lost + pendingLost + durations.length,
  };
}

/** The smallest value, or `Infinity` for none. */
export function minOf(values: ArrayLike<number>): number {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) if (values[i]! < min) min = values[i]!;
  return min;
}

/**
 * Per-origin statistics: counts of requests, failures by layer and code, retries, and latency
 * percentiles per phase over a sliding window of recent samples. Recording is a few array writes;
 * the percentiles are computed only when `stats()` is read.
 */
import type { Timings } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import type { ErrorCode, Layer } from '../errors/codes.ts';
import type { LossEvidence } from '../errors/path-hint.ts';
import { daysUntil, type PeerCertificateInfo } from '../transport/connection.ts';
import type { AddressStatsSnapshot } from '../transport/outlier-detection.ts';
import { countSyns } from '../transport/syn-retransmits.ts';

/** Percentiles of one phase in milliseconds over the recent window; `count` samples. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * The network path to one origin, read from every TCP handshake the client made to it (whatever
 * happened after the handshake). A SYN or SYN-ACK lost on the way is retransmitted after 1 s, then
 * at the kernel's backoff points, so connects that lost one complete about 1 s (or 2, 3 s) later
 * than the base RTT: the SYN-retransmit signature. See `docs/path-layer.md`.
 */
export interface PathStatsSnapshot {
  /**
   * Connect time of every completed TCP handshake (`count`: all of them; percentiles over the
   * recent window). `latency.connect` counts only the handshakes of attempts that got a response.
   */
  readonly connect: Percentiles;
  /** Of the recent handshakes, those that show the SYN-retransmit signature (≥ base RTT + ~1 s). */
  readonly synRetransmits: number;
  /** `synRetransmits` ÷ recent handshakes (0 when there were none). */
  readonly synRetransmitShare: number;
  /**
   * Lost SYNs ÷ SYNs sent over the recent handshakes (each retransmit point a handshake waited
   * through is one lost SYN): an estimate of the packet loss on the path. 0 when there were none.
   */
  readonly estimatedLoss: number;
}

/**
 * The leaf certificate of the most recent full TLS handshake with an origin (a resumed session
 * shows none). Behind a load balancer with several certificates it is the last one seen; the
 * `bulwark:tls:expiring` event fires for each one under 14 days.
 */
export interface CertificateSnapshot {
  /** `CN=...`, or the whole distinguished name when it has no CN. */
  readonly subject: string;
  readonly issuer: string;
  /** When it expires, ISO 8601. */
  readonly validTo: string;
  /** Whole days until it expires, when `stats()` is read (negative once expired). */
  readonly daysUntilExpiry: number;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
  /** The address of the server that showed it. */
  readonly address: string | null;
  /** When it was seen, ISO 8601. */
  readonly seenAt: string;
}

/** One origin's statistics, as returned by `client.stats()`. */
export interface OriginStatsSnapshot {
  readonly origin: string;
  /** Calls started. */
  readonly requests: number;
  /** Calls that ended with a response (any status). */
  readonly responses: number;
  /** Calls that ended with an error (shed calls included: `CIRCUIT_OPEN`, `POOL_QUEUE_FULL`). */
  readonly failures: number;
  /**
   * Responses whose body then failed (a stall past `timeout.body`, a connection lost mid-body, a
   * malformed body); each is also counted by layer and code.
   */
  readonly bodyFailures: number;
  /**
   * Failures by layer (`app` for errors that are not Bulwark's): every failed attempt, every call
   * shed before an attempt (open breaker, full bulkhead queue, closed client, budget spent
   * waiting) and every failed response body.
   */
  readonly failuresByLayer: Readonly<Partial<Record<Layer | 'app', number>>>;
  /** The same failures by code. */
  readonly failuresByCode: Readonly<Partial<Record<ErrorCode, number>>>;
  /** Attempts after the first. */
  readonly retries: number;
  /** Retries refused because the budget was empty. */
  readonly budgetExhausted: number;
  /** Tokens left in the retry budget (`null` when there is no budget). */
  readonly budgetLevel: number | null;
  /**
   * Whether the retry budget decides on the fleet's totals too (`retry.budget.fleet`) or, while the
   * fleet's store fails, on this process's tokens only (`false`); `null` without a budget in a fleet.
   */
  readonly budgetFleet: boolean | null;
  /** Breaker state (`null` when there is no breaker). */
  readonly breaker: 'closed' | 'open' | 'half-open' | null;
  /**
   * Adaptive throttling (`null` when off): the probability the next attempt is refused, attempts
   * refused so far, and whether the fleet's counts are in use (`fleet` option) or only this
   * process's.
   */
  readonly throttle: {
    readonly probability: number;
    readonly refused: number;
    readonly fleet: boolean;
  } | null;
  /**
   * Outlier ejection (`null` with `outlier: false`): each address of the origin's DNS answer with
   * its outcomes, whether it is ejected and until when, and how often it was.
   */
  readonly addresses: Readonly<Record<string, AddressStatsSnapshot>> | null;
  /**
   * Hedged requests (`hedge` option): hedges sent, those whose answer won the race, and hedges
   * that were due but refused (the origin's share of hedges spent, the retry budget empty, or the
   * adaptive throttle refusing).
   */
  readonly hedges: { readonly sent: number; readonly won: number; readonly refused: number };
  /** Calls in flight and waiting in the bulkhead, and calls it shed. */
  readonly bulkhead: { readonly inFlight: number; readonly queued: number; readonly rejected: number } | null;
  /**
   * With `breaker.key`: the state of each live key's breaker to this origin (and `breaker` is
   * `null`: the origin has none of its own).
   */
  readonly breakers?: Readonly<Record<string, 'closed' | 'open' | 'half-open'>>;
  /** With `bulkhead.key`: each live key's bulkhead to this origin (and `bulkhead` is `null`). */
  readonly bulkheads?: Readonly<
    Record<string, { readonly inFlight: number; readonly queued: number; readonly rejected: number }>
  >;
  /** Latency percentiles: dns, connect and tls over new connections; ttfb and total over responses. */
  readonly latency: {
    readonly dns: Percentiles;
    readonly connect: Percentiles;
    readonly tls: Percentiles;
    readonly ttfb: Percentiles;
    readonly total: Percentiles;
  };
  /** New connections made and reused ones, over all attempts with a response (on Bulwark's own agent: a dispatcher the caller brought shows neither). */
  readonly connections: { readonly opened: number; readonly reused: number };
  /** The network path: connect times of every TCP handshake and the SYN retransmits among them. */
  readonly path: PathStatsSnapshot;
  /** The server's certificate, from the last full TLS handshake; `null` before one (and for http:). */
  readonly certificate: CertificateSnapshot | null;
}

const WINDOW = 1024;

/**
 * A ring of the most recent samples. It starts small and doubles up to the window, so an origin
 * that sees a handful of calls (or a simulated fleet of 100 000 of them) costs little memory.
 */
class Samples {
  #buf = new Float64Array(16);
  #n = 0;

  add(ms: number): void {
    const buf = this.#buf;
    if (this.#n === buf.length && buf.length < WINDOW) {
      const grown = new Float64Array(buf.length * 2);
      grown.set(buf);
      this.#buf = grown;
    }
    this.#buf[this.#n++ & (this.#buf.length - 1)] = ms;
  }

  /** A copy of the samples in the window, in no particular order. */
  window(): Float64Array {
    return this.#buf.slice(0, Math.min(this.#n, this.#buf.length));
  }

  percentiles(): Percentiles {
    const count = Math.min(this.#n, this.#buf.length);
    if (count === 0) return { count: 0, p50: 0, p95: 0, p99: 0 };
    const sorted = this.#buf.slice(0, count).sort();
    const at = (q: number): number => round(sorted[Math.min(count - 1, Math.ceil(q * count) - 1)]!);
    return { count: this.#n, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
  }
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Mutable counters of one origin; also the evidence of SYN loss a TCP timeout's hint reads. */
export class OriginStats implements LossEvidence {
  requests = 0;
  responses = 0;
  failures = 0;
  bodyFailures = 0;
  retries = 0;
  budgetExhausted = 0;
  opened = 0;
  reused = 0;
  hedgesSent = 0;
  hedgesWon = 0;
  hedgesRefused = 0;
  /** The total latency's p95 as last computed, and the response count it was computed at. */
  #p95 = 0;
  #p95At = -1;
  readonly #byLayer: Partial<Record<Layer | 'app', number>> = {};
  readonly #byCode: Partial<Record<ErrorCode, number>> = {};
  readonly #dns = new Samples();
  readonly #connect = new Samples();
  readonly #tls = new Samples();
  readonly #ttfb = new Samples();
  readonly #total = new Samples();
  /** Every TCP handshake's connect time; made on the first (a simulated fleet has none). */
  #handshakes: Samples | undefined;
  #certificate:
    | { readonly cert: PeerCertificateInfo; readonly address: string | null; readonly seenAt: number }
    | undefined;

  /** A call ended with a response. */
  recordResponse(t: Timings | undefined, total: number): void {
    this.responses++;
    this.#total.add(total);
    if (t === undefined) return;
    if (t.ttfb !== undefined) this.#ttfb.add(t.ttfb);
    if (t.reused === true) this.reused++;
    else if (t.reused === false) {
      this.opened++;
      if (t.dns !== undefined) this.#dns.add(t.dns);
      if (t.connect !== undefined) this.#connect.add(t.connect);
      if (t.tls !== undefined && t.tls > 0) this.#tls.add(t.tls);
    }
  }

  /**
   * The p95 of recent call latencies (to the response headers), or `undefined` with fewer than
   * `minSamples` responses. Sorting the window costs tens of microseconds, so it is recomputed
   * once per 32 new responses, not per call (what hedging's `'p95'` delay reads).
   */
  latencyP95(minSamples: number): number | undefined {
    if (this.responses < minSamples) return undefined;
    if (this.#p95At < 0 || this.responses - this.#p95At >= 32) {
      this.#p95 = this.#total.percentiles().p95;
      this.#p95At = this.responses;
    }
    return this.#p95;
  }

  /** A TCP handshake to the origin completed after `ms` (any connection, whatever came next). */
  recordConnect(ms: number): void {
    this.#handshakes ??= new Samples();
    this.#handshakes.add(ms);
  }

  /** A full TLS handshake showed `cert`. */
  recordCertificate(cert: PeerCertificateInfo, address: string | undefined): void {
    this.#certificate = { cert, address: address ?? null, seenAt: Date.now() };
  }

  /** Whether recent handshakes show the SYN-retransmit signature (read when a connect times out). */
  lossSeen(): boolean {
    return this.#handshakes !== undefined && countSyns(this.#handshakes.window()).retransmitted > 0;
  }

  /** An attempt failed (whether or not the call goes on). */
  recordFailure(err: unknown): void {
    const c = classify(err);
    this.#byLayer[c.layer] = (this.#byLayer[c.layer] ?? 0) + 1;
    if (c.code !== null) this.#byCode[c.code] = (this.#byCode[c.code] ?? 0) + 1;
  }

  /** The snapshot `client.stats()` returns. */
  snapshot(
    origin: string,
    extra: Pick<
      OriginStatsSnapshot,
      'budgetLevel' | 'budgetFleet' | 'breaker' | 'bulkhead' | 'throttle' | 'addresses'
    >,
  ): OriginStatsSnapshot {
    return {
      origin,
      requests: this.requests,
      responses: this.responses,
      failures: this.failures,
      bodyFailures: this.bodyFailures,
      failuresByLayer: { ...this.#byLayer },
      failuresByCode: { ...this.#byCode },
      retries: this.retries,
      budgetExhausted: this.budgetExhausted,
      hedges: { sent: this.hedgesSent, won: this.hedgesWon, refused: this.hedgesRefused },
      ...extra,
      latency: {
        dns: this.#dns.percentiles(),
        connect: this.#connect.percentiles(),
        tls: this.#tls.percentiles(),
        ttfb: this.#ttfb.percentiles(),
        total: this.#total.percentiles(),
      },
      connections: { opened: this.opened, reused: this.reused },
      path: this.#path(),
      certificate: this.#certificateSnapshot(),
    };
  }

  #path(): PathStatsSnapshot {
    const handshakes = this.#handshakes ?? new Samples();
    const window = handshakes.window();
    const syns = countSyns(window);
    return {
      connect: handshakes.percentiles(),
      synRetransmits: syns.retransmitted,
      synRetransmitShare: window.length === 0 ? 0 : round(syns.retransmitted / window.length),
      estimatedLoss: syns.sent === 0 ? 0 : round(syns.lost / syns.sent),
    };
  }

  #certificateSnapshot(): CertificateSnapshot | null {
    const seen = this.#certificate;
    if (seen === undefined) return null;
    const { cert } = seen;
    return {
      subject: cert.subject,
      issuer: cert.issuer,
      validTo: new Date(cert.validTo).toISOString(),
      daysUntilExpiry: daysUntil(cert.validTo),
      fingerprint256: cert.fingerprint256,
      address: seen.address,
      seenAt: new Date(seen.seenAt).toISOString(),
    };
  }
}

/**
 * Outlier ejection per address (Envoy's outlier detection) across the addresses DNS returns for an
 * origin: each attempt's outcome is recorded against the address its connection went to; an
 * address with `consecutiveFailures` failures in a row, or a success rate well below its peers'
 * over an interval, is ejected for `baseEjectionTime` × times ejected (capped), never more than
 * `maxEjectedPercent` of the addresses and never the last one. The connector asks
 * {@link OutlierDetection.select} which addresses a new connection may use (round-robin across
 * them, ejected ones left out). Everything runs on the injectable clock and is evaluated lazily,
 * when an outcome, a connect or `stats()` comes: no timer of its own.
 */
import { channel } from 'node:diagnostics_channel';
import type { Clock } from '../clock/clock.ts';
import type { AddressSelector } from './connect.ts';
import type { ResolvedOutlier } from './outlier-options.ts';
import type { Address } from './system-resolver.ts';

/** `bulwark:outlier:eject` and `bulwark:outlier:return`. */
export const OUTLIER_CHANNELS = Object.freeze({
  eject: channel('bulwark:outlier:eject'),
  return: channel('bulwark:outlier:return'),
});

/** Why an address was ejected. */
export type EjectionReason = 'consecutive-failures' | 'success-rate';

/** Published on `bulwark:outlier:eject`. */
export interface OutlierEjectEvent {
  readonly origin: string;
  readonly address: string;
  readonly reason: EjectionReason;
  /** This ejection's length, in ms. */
  readonly duration: number;
  /** Ejections of this address so far, this one included (decays by one per healthy interval). */
  readonly timesEjected: number;
  /** The address's success rate over the current interval (0–1; `null` with no outcome yet). */
  readonly successRate: number | null;
}

/** Published on `bulwark:outlier:return`. */
export interface OutlierReturnEvent {
  readonly origin: string;
  readonly address: string;
  /** How long it was out, in ms. */
  readonly ejectedFor: number;
}

/** One address of an origin, as `stats()[origin].addresses[address]` shows it. */
export interface AddressStatsSnapshot {
  /** Outcomes recorded at this address (responses, and failures of connects and requests). */
  readonly requests: number;
  /** Of them, failures (a 5xx response, a connect or transport failure). */
  readonly failures: number;
  /** Failures in a row, now. */
  readonly consecutiveFailures: number;
  /** Whether it is ejected now. */
  readonly ejected: boolean;
  /** When the ejection ends, ISO 8601 (`null` when not ejected). */
  readonly ejectedUntil: string | null;
  /** Ejections so far (decays by one per interval without one). */
  readonly timesEjected: number;
}

/** The state of one address. */
interface AddressState {
  requests: number;
  failures: number;
  consecutive: number;
  /** Outcomes and successes in the current success-rate interval. */
  intervalRequests: number;
  intervalSuccesses: number;
  /** Clock time the ejection ends (0: not ejected), and when it began. */
  ejectedUntil: number;
  ejectedAt: number;
  timesEjected: number;
  /** Ejected during the current interval (its repeat count does not decay at the interval's end). */
  ejectedThisInterval: boolean;
}

/** One origin's addresses and their outlier state. */
export class AddressOutliers {
  readonly origin: string;
  readonly #options: ResolvedOutlier;
  readonly #clock: Clock;
  readonly #onEject: (address: string) => void;
  readonly #addresses = new Map<string, AddressState>();
  /** The answer the states were last aligned with (the DNS cache hands out the same array until it changes). */
  #answer: readonly Address[] | undefined;
  #ejected = 0;
  /** The earliest `ejectedUntil` among ejected addresses (may be early after one left the answer). */
  #nextReturn = Number.POSITIVE_INFINITY;
  #rotation = 0;
  #intervalEnds: number;

  constructor(origin: string, options: ResolvedOutlier, clock: Clock, onEject: (address: string) => void) {
    this.origin = origin;
    this.#options = options;
    this.#clock = clock;
    this.#onEject = onEject;
    this.#intervalEnds = clock.now() + options.interval;
  }

  /** Addresses currently ejected. */
  get ejected(): number {
    return this.#ejected;
  }

  /**
   * The addresses a new connection may try, in order: ejected ones left out (all of them when
   * every one is ejected), and the start rotated per connection within each address family, so
   * connections spread across a round-robin name while happy eyeballs keeps the family order.
   */
  select(addresses: readonly Address[]): readonly Address[] {
    this.#tick(this.#clock.now());
    if (addresses !== this.#answer) this.#align(addresses);
    if (addresses.length < 2) return addresses;
    const usable = this.#ejected === 0 ? addresses : addresses.filter((a) => !this.#isEjected(a.address));
    return rotateWithinFamilies(usable.length === 0 ? addresses : usable, this.#rotation++);
  }

  /** Records one outcome at `address` (`ok`: a response below 500); unknown addresses are ignored. */
  record(address: string, ok: boolean): void {
    const s = this.#addresses.get(address);
    if (s === undefined) return;
    this.#tick(this.#clock.now());
    s.requests++;
    s.intervalRequests++;
    if (ok) {
      s.intervalSuccesses++;
      s.consecutive = 0;
      return;
    }
    s.failures++;
    s.consecutive++;
    if (s.consecutive >= this.#options.consecutiveFailures && s.ejectedUntil === 0) {
      this.#eject(address, s, 'consecutive-failures');
    }
  }

  /** Every known address's state, for `stats()`. */
  snapshot(): Record<string, AddressStatsSnapshot> {
    const now = this.#clock.now();
    this.#tick(now);
    const out: Record<string, AddressStatsSnapshot> = {};
    for (const [address, s] of this.#addresses) {
      out[address] = {
        requests: s.requests,
        failures: s.failures,
        consecutiveFailures: s.consecutive,
        ejected: s.ejectedUntil !== 0,
        ejectedUntil:
          s.ejectedUntil === 0 ? null : new Date(Date.now() + (s.ejectedUntil - now)).toISOString(),
        timesEjected: s.timesEjected,
      };
    }
    return out;
  }

  #isEjected(address: string): boolean {
    const s = this.#addresses.get(address);
    return s !== undefined && s.ejectedUntil !== 0;
  }

  /** Keeps a state per address of the current answer; addresses that left it are forgotten. */
  #align(addresses: readonly Address[]): void {
    this.#answer = addresses;
    const present = new Set<string>();
    for (const a of addresses) {
      present.add(a.address);
      if (!this.#addresses.has(a.address)) this.#addresses.set(a.address, newState());
    }
    for (const [address, s] of this.#addresses) {
      if (present.has(address)) continue;
      if (s.ejectedUntil !== 0) this.#ejected--;
      this.#addresses.delete(address);
    }
  }

  /** Ends the ejections whose time has passed; at the end of an interval, runs the success-rate rule. */
  #tick(now: number): void {
    // One comparison per outcome: the addresses are walked only when an ejection is due to end.
    if (now >= this.#nextReturn) {
      let next = Number.POSITIVE_INFINITY;
      for (const [address, s] of this.#addresses) {
        if (s.ejectedUntil === 0) continue;
        if (now >= s.ejectedUntil) this.#return(address, s, now);
        else if (s.ejectedUntil < next) next = s.ejectedUntil;
      }
      this.#nextReturn = next;
    }
    if (now < this.#intervalEnds) return;
    // Lazily evaluated: an interval with no traffic after it ends is judged at the next use.
    this.#intervalEnds = now + this.#options.interval;
    this.#successRate();
    for (const s of this.#addresses.values()) {
      if (!s.ejectedThisInterval && s.ejectedUntil === 0 && s.timesEjected > 0) s.timesEjected--;
      s.ejectedThisInterval = false;
      s.intervalRequests = 0;
      s.intervalSuccesses = 0;
    }
  }

  #successRate(): void {
    const rule = this.#options.successRate;
    if (rule === false) return;
    const judged: [string, AddressState, number][] = [];
    for (const [address, s] of this.#addresses) {
      if (s.ejectedUntil === 0 && s.intervalRequests >= rule.requestVolume) {
        judged.push([address, s, s.intervalSuccesses / s.intervalRequests]);
      }
    }
    if (judged.length < rule.minimumHosts) return;
    let sum = 0;
    for (const j of judged) sum += j[2];
    const mean = sum / judged.length;
    let squares = 0;
    for (const j of judged) squares += (j[2] - mean) ** 2;
    const threshold = mean - rule.stdevFactor * Math.sqrt(squares / judged.length);
    // Worst first, so the maximum ejected share goes to the worst offenders.
    judged.sort((a, b) => a[2] - b[2]);
    for (const [address, s, rate] of judged) {
      if (rate < threshold) this.#eject(address, s, 'success-rate');
    }
  }

  #eject(address: string, s: AddressState, reason: EjectionReason): void {
    const n = this.#addresses.size;
    const pct = this.#options.maxEjectedPercent;
    const limit = pct === 0 ? 0 : Math.max(1, Math.floor((n * pct) / 100));
    // Never all of them: the last address takes the traffic whatever its record.
    if (this.#ejected + 1 > limit || this.#ejected + 1 >= n) return;
    const now = this.#clock.now();
    s.timesEjected++;
    const { baseEjectionTime, maxEjectionTime } = this.#options;
    const duration = Math.min(maxEjectionTime, baseEjectionTime * s.timesEjected);
    s.ejectedAt = now;
    s.ejectedUntil = now + duration;
    if (s.ejectedUntil < this.#nextReturn) this.#nextReturn = s.ejectedUntil;
    s.ejectedThisInterval = true;
    s.consecutive = 0;
    this.#ejected++;
    if (OUTLIER_CHANNELS.eject.hasSubscribers) {
      const event: OutlierEjectEvent = {
        origin: this.origin,
        address,
        reason,
        duration,
        timesEjected: s.timesEjected,
        successRate: s.intervalRequests === 0 ? null : s.intervalSuccesses / s.intervalRequests,
      };
      OUTLIER_CHANNELS.eject.publish(event);
    }
    this.#onEject(address);
  }

  #return(address: string, s: AddressState, now: number): void {
    const ejectedFor = now - s.ejectedAt;
    s.ejectedUntil = 0;
    s.consecutive = 0;
    this.#ejected--;
    if (OUTLIER_CHANNELS.return.hasSubscribers) {
      const event: OutlierReturnEvent = { origin: this.origin, address, ejectedFor };
      OUTLIER_CHANNELS.return.publish(event);
    }
  }
}

function newState(): AddressState {
  return {
    requests: 0,
    failures: 0,
    consecutive: 0,
    intervalRequests: 0,
    intervalSuccesses: 0,
    ejectedUntil: 0,
    ejectedAt: 0,
    timesEjected: 0,
    ejectedThisInterval: false,
  };
}

/**
 * `addresses` with each family's addresses rotated by `turn`, every position keeping its family
 * (happy eyeballs alternates families in the order given).
 */
export function rotateWithinFamilies(addresses: readonly Address[], turn: number): Address[] {
  const v4 = addresses.filter((a) => a.family === 4);
  const v6 = addresses.filter((a) => a.family === 6);
  let i4 = v4.length === 0 ? 0 : turn % v4.length;
  let i6 = v6.length === 0 ? 0 : turn % v6.length;
  return addresses.map((a) => (a.family === 4 ? v4[i4++ % v4.length]! : v6[i6++ % v6.length]!));
}

/**
 * The client's outlier detection: one {@link AddressOutliers} per origin, made when the connector
 * first asks for that origin's addresses. It is the connector's {@link AddressSelector}.
 */
export class OutlierDetection implements AddressSelector {
  readonly #options: ResolvedOutlier;
  readonly #clock: Clock;
  readonly #onEject: (origin: string, host: string, address: string) => void;
  readonly #origins = new Map<string, AddressOutliers>();

  /** `onEject` retires the pooled connections to an address as it is ejected. */
  constructor(
    options: ResolvedOutlier,
    clock: Clock,
    onEject: (origin: string, host: string, address: string) => void,
  ) {
    this.#options = options;
    this.#clock = clock;
    this.#onEject = onEject;
  }

  /** The state of `origin` (`scheme://host[:port]`), made on first use. */
  of(origin: string, host: string): AddressOutliers {
    let o = this.#origins.get(origin);
    if (o === undefined) {
      o = new AddressOutliers(origin, this.#options, this.#clock, (address) =>
        this.#onEject(origin, host, address),
      );
      this.#origins.set(origin, o);
    }
    return o;
  }

  select(origin: string, host: string, addresses: readonly Address[]): readonly Address[] {
    return this.of(origin, host).select(addresses);
  }

  connectFailed(origin: string, address: string): void {
    this.#origins.get(origin)?.record(address, false);
  }
}

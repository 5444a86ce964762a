/**
 * The registry of per-origin state (http/origin-state.ts): each origin's breaker, retry budget,
 * bulkhead and statistics, created on the first call to it.
 */
import { channel } from 'node:diagnostics_channel';
import type { Target } from '../errors/bulwark-error.ts';
import type { OriginState } from '../http/origin-state.ts';
import { OriginStats, type OriginStatsSnapshot } from '../http/origin-stats.ts';
import {
  CERTIFICATE_WARNING_DAYS,
  type ConnectionObserver,
  type ConnectionRecord,
  daysUntil,
  type PeerCertificateInfo,
} from '../transport/connection.ts';

const expiringChannel = channel('bulwark:tls:expiring');
/** Certificates remembered per origin as announced; past this the memory starts over. */
const MAX_ANNOUNCED = 16;

/** Builds the state of one origin. */
export type OriginFactory = (
  origin: string,
  target: Target,
) => Omit<OriginState, 'stats' | 'origin' | 'target' | 'pool'>;

/**
 * The registry of origin states. It also observes the agent's connections: every TCP handshake's
 * connect time and every certificate shown go to the origin's statistics.
 */
export class Origins implements ConnectionObserver {
  readonly #map = new Map<string, OriginState>();
  readonly #factory: OriginFactory;
  /** Per origin, the certificates announced on `bulwark:tls:expiring` (each once). */
  readonly #announced = new Map<string, Set<string>>();

  constructor(factory: OriginFactory) {
    this.#factory = factory;
  }

  /** The state of `origin` (a normalised `URL#origin`), created on first use. */
  get(origin: string, url: URL): OriginState {
    let state = this.#map.get(origin);
    if (state === undefined) {
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
      const target: Target = Object.freeze({ origin, host, port });
      state = { ...this.#factory(origin, target), origin, target, stats: new OriginStats(), pool: undefined };
      this.#map.set(origin, state);
    }
    return state;
  }

  connected(rec: ConnectionRecord): void {
    this.#map.get(rec.origin)?.stats.recordConnect(rec.connect);
  }

  /**
   * Keeps the certificate in the origin's statistics, and publishes `bulwark:tls:expiring` (once
   * per origin and certificate, while someone listens) when it expires within 14 days.
   */
  secured(rec: ConnectionRecord, cert: PeerCertificateInfo): void {
    const state = this.#map.get(rec.origin);
    if (state === undefined) return;
    state.stats.recordCertificate(cert, rec.address);
    if (!expiringChannel.hasSubscribers) return;
    const days = daysUntil(cert.validTo);
    if (days >= CERTIFICATE_WARNING_DAYS) return;
    let announced = this.#announced.get(rec.origin);
    if (announced === undefined) {
      announced = new Set();
      this.#announced.set(rec.origin, announced);
    }
    if (announced.has(cert.fingerprint256)) return;
    if (announced.size >= MAX_ANNOUNCED) announced.clear();
    announced.add(cert.fingerprint256);
    expiringChannel.publish({
      origin: rec.origin,
      host: rec.host,
      address: rec.address ?? null,
      subject: cert.subject,
      issuer: cert.issuer,
      validTo: new Date(cert.validTo).toISOString(),
      daysUntilExpiry: days,
      fingerprint256: cert.fingerprint256,
    });
  }

  /** Every origin's statistics. */
  snapshot(): OriginStatsSnapshot[] {
    const out: OriginStatsSnapshot[] = [];
    for (const s of this.#map.values()) {
      out.push(
        s.stats.snapshot(s.origin, {
          budgetLevel: s.budget?.level ?? null,
          budgetFleet: s.budget?.fleetJoined === true ? s.budget.fleetActive() : null,
          breaker: s.breaker?.state ?? null,
          bulkhead: s.bulkhead
            ? { inFlight: s.bulkhead.inFlight, queued: s.bulkhead.queued, rejected: s.bulkhead.rejected }
            : null,
          throttle: s.throttle
            ? {
                probability: s.throttle.probability(),
                refused: s.throttle.refused,
                fleet: s.throttle.fleetActive(),
              }
            : null,
          addresses: s.outliers?.snapshot() ?? null,
        }),
      );
    }
    return out;
  }

  /** Every origin's state (for close). */
  values(): IterableIterator<OriginState> {
    return this.#map.values();
  }
}

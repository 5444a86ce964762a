/**
 * Bulwark's own client metrics, read from `client.stats()` and the DNS cache's `stats()` when the
 * metric reader collects (nothing per call): retries, retry-budget level and refusals, breaker
 * state, bulkhead occupancy per origin, and DNS cache lookups by result.
 */
import type {
  Attributes,
  BatchObservableResult,
  Meter,
  ObservableCounter,
  ObservableGauge,
} from '@opentelemetry/api';
import type { BulwarkClient } from '../client/client.ts';
import type { OriginStatsSnapshot } from '../http/origin-stats.ts';

/** A breaker's state as the `bulwark.client.breaker.state` gauge reports it. */
const BREAKER_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

const DNS_RESULT = Object.freeze({
  hit: Object.freeze({ 'bulwark.dns.result': 'hit' }),
  stale: Object.freeze({ 'bulwark.dns.result': 'stale' }),
  negative: Object.freeze({ 'bulwark.dns.result': 'negative' }),
  miss: Object.freeze({ 'bulwark.dns.result': 'miss' }),
});

/** The observable instruments of one client, registered on its meter until {@link dispose}. */
export class ClientStatsMetrics {
  readonly #client: BulwarkClient;
  readonly #meter: Meter;
  readonly #observables: (ObservableCounter | ObservableGauge)[];
  readonly #originAttributes = new Map<string, Attributes>();
  readonly #observe = (result: BatchObservableResult): void => this.#observeStats(result);
  readonly #instruments: {
    retries: ObservableCounter;
    exhausted: ObservableCounter;
    budget: ObservableGauge;
    breaker: ObservableGauge;
    inFlight: ObservableGauge;
    queued: ObservableGauge;
    dns: ObservableCounter;
  };

  constructor(meter: Meter, client: BulwarkClient) {
    this.#meter = meter;
    this.#client = client;
    const i = {
      retries: meter.createObservableCounter('bulwark.client.retries', {
        description: 'Attempts after the first, per origin.',
        unit: '{retry}',
      }),
      exhausted: meter.createObservableCounter('bulwark.client.retry_budget.exhausted', {
        description: 'Retries refused because the origin’s retry budget was empty.',
        unit: '{retry}',
      }),
      budget: meter.createObservableGauge('bulwark.client.retry_budget.level', {
        description: 'Tokens left in the origin’s retry budget.',
        unit: '{token}',
      }),
      breaker: meter.createObservableGauge('bulwark.client.breaker.state', {
        description: 'The origin’s circuit breaker: 0 closed, 1 half-open, 2 open.',
        unit: '1',
      }),
      inFlight: meter.createObservableGauge('bulwark.client.bulkhead.in_flight', {
        description: 'Calls in flight through the origin’s bulkhead.',
        unit: '{call}',
      }),
      queued: meter.createObservableGauge('bulwark.client.bulkhead.queued', {
        description: 'Calls waiting in the origin’s bulkhead queue.',
        unit: '{call}',
      }),
      dns: meter.createObservableCounter('bulwark.dns.cache.lookups', {
        description: 'Lookups of the client’s DNS cache by result (hit, stale, negative, miss).',
        unit: '{lookup}',
      }),
    };
    this.#instruments = i;
    this.#observables = [i.retries, i.exhausted, i.budget, i.breaker, i.inFlight, i.queued, i.dns];
    meter.addBatchObservableCallback(this.#observe, this.#observables);
  }

  #attributesOf(origin: string): Attributes {
    let a = this.#originAttributes.get(origin);
    if (a === undefined) {
      const url = new URL(origin);
      a = Object.freeze({
        'server.address': url.hostname.replace(/^\[|\]$/g, ''),
        'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
      });
      this.#originAttributes.set(origin, a);
    }
    return a;
  }

  /** The metrics read from `client.stats()` and the DNS cache, at each collection. */
  #observeStats(result: BatchObservableResult): void {
    const i = this.#instruments;
    const stats: Record<string, OriginStatsSnapshot> = this.#client.stats();
    for (const origin in stats) {
      const s = stats[origin] as OriginStatsSnapshot;
      const a = this.#attributesOf(origin);
      result.observe(i.retries, s.retries, a);
      result.observe(i.exhausted, s.budgetExhausted, a);
      if (s.budgetLevel !== null) result.observe(i.budget, s.budgetLevel, a);
      if (s.breaker !== null) result.observe(i.breaker, BREAKER_VALUE[s.breaker], a);
      if (s.bulkhead !== null) {
        result.observe(i.inFlight, s.bulkhead.inFlight, a);
        result.observe(i.queued, s.bulkhead.queued, a);
      }
      // With breaker.key / bulkhead.key: one series per live key (their number is bounded by maxKeys).
      for (const key in s.breakers) {
        const state = s.breakers[key] as keyof typeof BREAKER_VALUE;
        result.observe(i.breaker, BREAKER_VALUE[state], { ...a, 'bulwark.breaker.key': key });
      }
      for (const key in s.bulkheads) {
        const b = s.bulkheads[key] as { inFlight: number; queued: number };
        const ka = { ...a, 'bulwark.bulkhead.key': key };
        result.observe(i.inFlight, b.inFlight, ka);
        result.observe(i.queued, b.queued, ka);
      }
    }
    const dns = this.#client.dns?.stats();
    if (dns !== undefined) {
      result.observe(i.dns, dns.hits, DNS_RESULT.hit);
      result.observe(i.dns, dns.stale, DNS_RESULT.stale);
      result.observe(i.dns, dns.negative, DNS_RESULT.negative);
      result.observe(i.dns, dns.misses, DNS_RESULT.miss);
    }
  }

  dispose(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
  }
}

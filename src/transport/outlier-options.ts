/**
 * The `outlier` option: when an address behind a name is ejected (Envoy's outlier detection:
 * consecutive failures, a success-rate rule, an ejection time that grows with repeats, a maximum
 * ejected share), validated once into {@link ResolvedOutlier}.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkNumber, checkObject } from '../options/validate.ts';

/** The success-rate rule: an address well below its peers' success rate over an interval is ejected. */
export interface OutlierSuccessRateOptions {
  /**
   * Addresses with at least `requestVolume` outcomes in the interval needed for the rule to run
   * (Envoy's default). Below 5 the default factor cannot fire anyway: one address alone below
   * its peers is at most √(n − 1) standard deviations under the mean (1.73 with four), so with
   * fewer addresses the consecutive-failures rule does the work.
   * @default 5
   */
  minimumHosts?: number;
  /** Outcomes an address needs in the interval to be judged. @default 100 */
  requestVolume?: number;
  /** Ejected below mean − `stdevFactor` × standard deviation of the addresses' rates. @default 1.9 */
  stdevFactor?: number;
}

/**
 * Outlier ejection per address, across the addresses the DNS cache returns for an origin
 * (Envoy's outlier detection). An ejected address gets no new connection and its pooled ones are
 * retired until its ejection time has passed; the last address is never ejected.
 *
 * @see https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/outlier
 */
export interface OutlierOptions {
  /**
   * Consecutive failures (a 5xx response, or a connect or transport failure at that address)
   * that eject it.
   * @default 5
   */
  consecutiveFailures?: number;
  /** How often the success-rate rule runs (and a repeat offender's count decays), in ms. @default 10000 */
  interval?: number;
  /** Ejection time of a first ejection; the nth lasts n times as long (capped), in ms. @default 30000 */
  baseEjectionTime?: number;
  /** The longest ejection, in ms (at least `baseEjectionTime`). @default 300000 */
  maxEjectionTime?: number;
  /**
   * The most addresses of an origin ejected at once, in percent (at least one when above 0; never
   * all of them).
   * @default 50
   */
  maxEjectedPercent?: number;
  /** The success-rate rule, or `false` for consecutive failures only. */
  successRate?: OutlierSuccessRateOptions | false;
}

/** The success-rate rule after validation. */
export interface ResolvedSuccessRate {
  readonly minimumHosts: number;
  readonly requestVolume: number;
  readonly stdevFactor: number;
}

/** {@link OutlierOptions} after validation. */
export interface ResolvedOutlier {
  readonly consecutiveFailures: number;
  readonly interval: number;
  readonly baseEjectionTime: number;
  readonly maxEjectionTime: number;
  readonly maxEjectedPercent: number;
  readonly successRate: ResolvedSuccessRate | false;
}

/** The defaults: Envoy's (consecutive 5xx 5, 10 s interval, 30 s base, 300 s max), 50 % at most. */
export const OUTLIER_DEFAULTS: ResolvedOutlier = Object.freeze({
  consecutiveFailures: 5,
  interval: 10_000,
  baseEjectionTime: 30_000,
  maxEjectionTime: 300_000,
  maxEjectedPercent: 50,
  successRate: Object.freeze({ minimumHosts: 5, requestVolume: 100, stdevFactor: 1.9 }),
});

const KEYS = [
  'consecutiveFailures',
  'interval',
  'baseEjectionTime',
  'maxEjectionTime',
  'maxEjectedPercent',
  'successRate',
];

/** Validates `outlier` (an object of {@link OutlierOptions}). Throws {@link InvalidOptionError}. */
export function resolveOutlier(input: unknown, path = 'outlier'): ResolvedOutlier {
  const o = checkObject(input, path, KEYS);
  const d = OUTLIER_DEFAULTS;
  const baseEjectionTime = checkDuration(
    o.baseEjectionTime,
    `${path}.baseEjectionTime`,
    d.baseEjectionTime,
    1,
  );
  const maxEjectionTime = checkDuration(
    o.maxEjectionTime,
    `${path}.maxEjectionTime`,
    Math.max(d.maxEjectionTime, baseEjectionTime),
    1,
  );
  if (maxEjectionTime < baseEjectionTime) {
    throw new InvalidOptionError(
      `${path}.maxEjectionTime`,
      `at least baseEjectionTime (${baseEjectionTime})`,
      maxEjectionTime,
    );
  }
  return Object.freeze({
    consecutiveFailures: checkNumber(
      o.consecutiveFailures,
      `${path}.consecutiveFailures`,
      d.consecutiveFailures,
      {
        min: 1,
        integer: true,
        infinite: true,
      },
    ),
    interval: checkDuration(o.interval, `${path}.interval`, d.interval, 1),
    baseEjectionTime,
    maxEjectionTime,
    maxEjectedPercent: checkNumber(o.maxEjectedPercent, `${path}.maxEjectedPercent`, d.maxEjectedPercent, {
      min: 0,
      max: 100,
    }),
    successRate: o.successRate === false ? false : resolveSuccessRate(o.successRate, `${path}.successRate`),
  });
}

function resolveSuccessRate(input: unknown, path: string): ResolvedSuccessRate {
  const o = checkObject(input, path, ['minimumHosts', 'requestVolume', 'stdevFactor']);
  const d = OUTLIER_DEFAULTS.successRate as ResolvedSuccessRate;
  return Object.freeze({
    minimumHosts: checkNumber(o.minimumHosts, `${path}.minimumHosts`, d.minimumHosts, {
      min: 2,
      integer: true,
    }),
    requestVolume: checkNumber(o.requestVolume, `${path}.requestVolume`, d.requestVolume, {
      min: 1,
      integer: true,
    }),
    stdevFactor: checkNumber(o.stdevFactor, `${path}.stdevFactor`, d.stdevFactor, { min: 0 }),
  });
}

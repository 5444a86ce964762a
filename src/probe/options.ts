/**
 * The options of `probe()`: the public type with its defaults, and `resolveProbeOptions`, which
 * validates them once (naming the option path in every error) and returns a frozen copy.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkBoolean, checkDuration, checkObject, checkThat } from '../options/validate.ts';
import { isResolverAddress } from '../transport/dns/options.ts';

/**
 * Per-phase timeouts of a probe, in milliseconds.
 *
 * @example
 * ```ts
 * await probe('https://api.example.com/health', { timeouts: { dns: 500, connect: 1_000, tls: 1_000 } });
 * ```
 */
export interface ProbeTimeouts {
  /**
   * Each resolver's answer.
   * @default 2000
   */
  dns?: number;
  /**
   * Each TCP handshake.
   * @default 3000
   */
  connect?: number;
  /**
   * The TLS handshake.
   * @default 3000
   */
  tls?: number;
  /**
   * From sending the request to the response headers.
   * @default 10000
   */
  http?: number;
}

/**
 * Options of {@link probe}. The CLI's flags map onto them one to one.
 *
 * @example
 * ```ts
 * const report = await probe('https://api.internal/health', {
 *   resolvers: ['10.0.0.2', '1.1.1.1'],
 *   timeouts: { connect: 1_000 },
 * });
 * if (report.firstFailed !== null) console.error(report.layers[report.firstFailed].reason);
 * ```
 */
export interface ProbeOptions {
  /**
   * DNS servers to ask besides the system resolver: `'1.1.1.1'`, `'10.0.0.2:5353'`, `'::1'`,
   * `'[::1]:53'`. Answers that differ between resolvers make the DNS layer `suspect`.
   * @default []
   */
  resolvers?: readonly string[];
  /**
   * Ask the system resolver (`dns.lookup`: hosts file, nsswitch, the configured resolvers — what
   * the application itself would use). `false` needs at least one entry in `resolvers`.
   * @default true
   */
  system?: boolean;
  /**
   * Trusted CA certificates (PEM), replacing Node's bundled roots, for a private CA.
   * @default Node's bundled root certificates
   */
  ca?: string | readonly string[];
  /**
   * Go on past a certificate that fails verification: the TLS layer is then `suspect` (with the
   * code) instead of `failed`, and the HTTP request is still made.
   * @default false
   */
  insecure?: boolean;
  /**
   * The HTTP method of the one request.
   * @default 'GET'
   */
  method?: string;
  /** Per-phase timeouts. */
  timeouts?: ProbeTimeouts;
}

/** {@link ProbeOptions} after validation and defaults. */
export interface ResolvedProbeOptions {
  readonly resolvers: readonly string[];
  readonly system: boolean;
  readonly ca: readonly string[] | undefined;
  readonly insecure: boolean;
  readonly method: string;
  readonly timeouts: Readonly<Required<ProbeTimeouts>>;
}

/** The phase timeouts: the client's own defaults (DESIGN.md), so the probe fails where a call would. */
export const PROBE_TIMEOUT_DEFAULTS: Readonly<Required<ProbeTimeouts>> = Object.freeze({
  dns: 2_000,
  connect: 3_000,
  tls: 3_000,
  http: 10_000,
});

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates probe options. Throws {@link InvalidOptionError} naming the option's path. */
export function resolveProbeOptions(input: unknown): ResolvedProbeOptions {
  const o = checkObject(input, '', ['resolvers', 'system', 'ca', 'insecure', 'method', 'timeouts']);
  const resolvers = checkResolvers(o.resolvers);
  const system = checkBoolean(o.system, 'system', true);
  checkThat(system || resolvers.length > 0, 'system', 'true when no resolvers are given', system);
  const t = checkObject(o.timeouts, 'timeouts', ['dns', 'connect', 'tls', 'http']);
  const d = PROBE_TIMEOUT_DEFAULTS;
  const timeout = (key: keyof ProbeTimeouts): number => {
    return checkDuration(t[key], `timeouts.${key}`, d[key], 1);
  };
  const method = o.method ?? 'GET';
  checkThat(
    typeof method === 'string' && METHOD.test(method) && method.toUpperCase() !== 'CONNECT',
    'method',
    'an HTTP method name (not CONNECT)',
    method,
  );
  return Object.freeze({
    resolvers,
    system,
    ca: checkCa(o.ca),
    insecure: checkBoolean(o.insecure, 'insecure', false),
    method: (method as string).toUpperCase(),
    timeouts: Object.freeze({
      dns: timeout('dns'),
      connect: timeout('connect'),
      tls: timeout('tls'),
      http: timeout('http'),
    }),
  });
}

function checkResolvers(value: unknown): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value))
    throw new InvalidOptionError('resolvers', 'an array of resolver addresses', value);
  value.forEach((server: unknown, i) => {
    checkThat(
      isResolverAddress(server),
      `resolvers[${i}]`,
      "an IP address with an optional port ('1.1.1.1', '10.0.0.2:5353', '[::1]:53')",
      server,
    );
  });
  return Object.freeze([...(value as string[])]);
}

function checkCa(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw new InvalidOptionError('ca', 'PEM certificates (a string or a non-empty array of strings)', value);
  }
  list.forEach((pem: unknown, i) => {
    checkThat(
      typeof pem === 'string' && pem.includes('-----BEGIN CERTIFICATE-----'),
      typeof value === 'string' ? 'ca' : `ca[${i}]`,
      'a PEM certificate (-----BEGIN CERTIFICATE-----)',
      pem,
    );
  });
  return Object.freeze([...(list as string[])]);
}

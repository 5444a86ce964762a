/**
 * The options of `probe()`: the public type with its defaults, and `resolveProbeOptions`, which
 * validates them once (naming the option path in every error) and returns a frozen copy.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactHeaderValue } from '../errors/redact.ts';
import { checkBoolean, checkDuration, checkNumber, checkObject, checkThat } from '../options/validate.ts';
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
   * The path layer's window: how long its connect samples and its padded exchanges may take.
   * Long enough to see a connect that needed two SYN retransmissions (about +3 s).
   * @default 3500
   */
  path?: number;
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
   * The HTTP method of the one request. The path layer's exchanges use it too when it is GET,
   * HEAD or OPTIONS, and HEAD otherwise (they send the request several times).
   * @default 'GET'
   */
  method?: string;
  /**
   * Check the network path (packet loss, MTU) on connections of its own, after TLS and HTTP.
   * `false` skips the path layer.
   * @default true
   */
  path?: boolean;
  /**
   * TCP connects per address for the path layer's connect-time distribution and loss estimate
   * (at most {@link MAX_SAMPLES}, 64 at a time, all within `timeouts.path`). Each lost SYN costs
   * a connect about a second, so a handful shows heavy loss; hundreds measure a small one.
   * `0` skips the samples (the exchanges still run).
   * @default 10
   */
  samples?: number;
  /** Per-phase timeouts. */
  timeouts?: ProbeTimeouts;
  /**
   * Request headers to send besides the probe's own (`User-Agent: bulwark-probe` and `Accept`,
   * which these replace when named), on the HTTP layer's request and the path layer's exchanges:
   * a record, or `[name, value]` pairs (a name may repeat). The report shows them with secret
   * values (`Authorization`, `Cookie`, `X-Api-Key`, ...) redacted. Headers that frame the
   * message (`Content-Length`, `Transfer-Encoding`, `Connection`, `Keep-Alive`, `Upgrade`,
   * `Expect`, `TE`) are refused.
   * @default []
   * @example
   * ```ts
   * await probe('https://api.internal/health', { headers: { authorization: `Bearer ${token}` } });
   * ```
   */
  headers?: Readonly<Record<string, string>> | readonly (readonly [string, string])[];
}

/** {@link ProbeOptions} after validation and defaults. */
export interface ResolvedProbeOptions {
  readonly resolvers: readonly string[];
  readonly system: boolean;
  readonly ca: readonly string[] | undefined;
  readonly insecure: boolean;
  readonly method: string;
  readonly path: boolean;
  readonly samples: number;
  readonly timeouts: Readonly<Required<ProbeTimeouts>>;
  /** The caller's headers as `[name, value]` pairs, names lower-cased, in the order given. */
  readonly headers: readonly (readonly [string, string])[];
}

/** The phase timeouts: the client's own defaults (TIMEOUT_DEFAULTS), so the probe fails where a call would. */
export const PROBE_TIMEOUT_DEFAULTS: Readonly<Required<ProbeTimeouts>> = Object.freeze({
  dns: 2_000,
  connect: 3_000,
  tls: 3_000,
  path: 3_500,
  http: 10_000,
});

/** Connects per address the path layer makes by default ({@link ProbeOptions.samples}). */
export const DEFAULT_SAMPLES = 10;
/** The most connects per address the path layer makes. */
export const MAX_SAMPLES = 2_000;

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates probe options. Throws {@link InvalidOptionError} naming the option's path. */
export function resolveProbeOptions(input: unknown): ResolvedProbeOptions {
  const o = checkObject(input, '', [
    'resolvers',
    'system',
    'ca',
    'insecure',
    'method',
    'path',
    'samples',
    'timeouts',
    'headers',
  ]);
  const resolvers = checkResolvers(o.resolvers);
  const system = checkBoolean(o.system, 'system', true);
  checkThat(system || resolvers.length > 0, 'system', 'true when no resolvers are given', system);
  const t = checkObject(o.timeouts, 'timeouts', ['dns', 'connect', 'tls', 'path', 'http']);
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
    path: checkBoolean(o.path, 'path', true),
    samples: checkNumber(o.samples, 'samples', DEFAULT_SAMPLES, { min: 0, max: MAX_SAMPLES, integer: true }),
    headers: checkHeaders(o.headers),
    timeouts: Object.freeze({
      dns: timeout('dns'),
      connect: timeout('connect'),
      tls: timeout('tls'),
      path: timeout('path'),
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

/**
 * A request's headers: the probe's `own` less those the caller names (case aside), then the
 * caller's (already lower-cased). The HTTP layer and the path layer's exchanges share it.
 */
export function withCallerHeaders(
  own: readonly (readonly [string, string])[],
  callers: readonly (readonly [string, string])[],
): (readonly [string, string])[] {
  const named = new Set(callers.map(([name]) => name));
  return [...own.filter(([name]) => !named.has(name.toLowerCase())), ...callers];
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// A field value: visible characters, spaces and tabs, obs-text; no CR, LF or NUL (RFC 9110 §5.5).
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Headers that frame the message or the connection: the probe's to set, not the caller's. */
const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
]);

/**
 * What is wrong with one header, in words, or `undefined` when nothing is. The CLI's `-H` and
 * {@link resolveProbeOptions} share it.
 */
export function headerProblem(name: string, value: string): string | undefined {
  if (!TOKEN.test(name)) return "a header name (letters, digits and !#$%&'*+.^_`|~-, no spaces)";
  if (FRAMING_HEADERS.has(name.toLowerCase())) {
    return `a header other than ${[...FRAMING_HEADERS].join(', ')} (the probe frames its own request)`;
  }
  if (!FIELD_VALUE.test(value)) return 'a header value without line breaks, NUL or characters beyond Latin-1';
  return undefined;
}

function checkHeaders(value: unknown): readonly (readonly [string, string])[] {
  if (value === undefined) return Object.freeze([]);
  let pairs: unknown[];
  if (Array.isArray(value)) pairs = value;
  else if (typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    pairs = Object.entries(value);
  } else {
    throw new InvalidOptionError(
      'headers',
      'a record of header values or an array of [name, value] pairs',
      value,
    );
  }
  return Object.freeze(
    pairs.map((pair, i) => {
      const path = Array.isArray(value) ? `headers[${i}]` : `headers.${String((pair as unknown[])[0])}`;
      if (
        !Array.isArray(pair) ||
        pair.length !== 2 ||
        typeof pair[0] !== 'string' ||
        typeof pair[1] !== 'string'
      ) {
        throw new InvalidOptionError(
          path,
          'a [name, value] pair of strings',
          Array.isArray(pair) ? '[...]' : pair,
        );
      }
      const [name, text] = pair as [string, string];
      const problem = headerProblem(name, text);
      // The value shown is redacted: a bad Authorization header must not print its token.
      if (problem !== undefined)
        throw new InvalidOptionError(path, problem, `${name}: ${redactHeaderValue(name, text)}`);
      return Object.freeze([name.toLowerCase(), text.trim()] as const);
    }),
  );
}

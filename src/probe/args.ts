/**
 * The command line of `bulwark probe`: strict parsing with `node:util` parseArgs, and every
 * mistake turned into a {@link UsageError} with a one-line message naming the flag (never a stack
 * trace). The result is the URL, the {@link ProbeOptions} and the output switches.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactHeaderValue } from '../errors/redact.ts';
import { MAX_DURATION } from '../options/validate.ts';
import { isResolverAddress } from '../transport/dns/options.ts';
import {
  DEFAULT_SAMPLES,
  headerProblem,
  MAX_SAMPLES,
  PROBE_TIMEOUT_DEFAULTS,
  type ProbeOptions,
} from './options.ts';
import { parseTarget } from './probe.ts';

/** A mistake on the command line: exit status 2, the message and the usage. */
export class UsageError extends Error {
  override get name(): string {
    return 'UsageError';
  }
}

/** What the command line asks for. */
export interface ProbeCommand {
  readonly kind: 'probe';
  readonly url: URL;
  readonly options: ProbeOptions;
  readonly json: boolean;
  readonly strict: boolean;
}

/** `--help`: print the usage and exit 0. */
export interface HelpCommand {
  readonly kind: 'help';
}

const d = PROBE_TIMEOUT_DEFAULTS;

/** The help text of `bulwark probe`. */
export const USAGE = `Usage: bulwark probe <url> [options]

Checks DNS, TCP, TLS and HTTP in that order, on one connection, then the network path after
them on connections of its own (connect samples: SYN loss; the request padded to 1.4, 4 and
16 KB: an MTU blackhole). Each layer gets a verdict: ok; suspect (it works, but look: a
certificate expiring within 14 days, resolvers that disagree, SYNs lost on the path, a 5xx or
429, a phase slower than half its timeout); failed (the layers after it are skipped). The last
line names the first layer that failed.

Options:
  --resolver <ip[:port]>   also ask this DNS server, e.g. 1.1.1.1 or [::1]:5353 (repeatable);
                           answers that differ between resolvers are flagged
  --no-system              do not ask the system resolver (needs --resolver)
  --ca <file>              trust the CA certificates of this PEM file instead of Node's roots
                           (repeatable)
  -k, --insecure           go on past a certificate that fails verification (tls is then
                           suspect, not failed, and the request is still made)
  -X, --method <method>    the HTTP method (default GET)
  -H, --header <'name: value'>
                           send this request header too (repeatable), on the http layer's
                           request and the path layer's; secret values (Authorization, Cookie,
                           X-Api-Key, ...) are redacted in the output
  --dns-timeout <ms>       each resolver's answer (default ${d.dns})
  --connect-timeout <ms>   each TCP handshake (default ${d.connect})
  --tls-timeout <ms>       the TLS handshake (default ${d.tls})
  --http-timeout <ms>      from the request to the response headers (default ${d.http})
  --samples <n>            path layer: TCP connects per address for the connect times and the
                           SYN loss estimate, 64 at a time (default ${DEFAULT_SAMPLES}, at most ${MAX_SAMPLES};
                           hundreds measure a loss of a few percent; 0: none)
  --path-timeout <ms>      path layer: how long the samples and exchanges may take
                           (default ${d.path}: a connect that lost two SYNs completes after ~3 s)
  --no-path                skip the path layer
  --json                   print the report as JSON (schema "bulwark.probe/v3")
  --strict                 exit 1 when a layer is suspect, too
  -h, --help               print this help

Exit status: 0 healthy (suspect layers included, unless --strict), 1 a layer failed,
2 usage error.
`;

const OPTIONS = {
  resolver: { type: 'string', multiple: true },
  'no-system': { type: 'boolean' },
  ca: { type: 'string', multiple: true },
  insecure: { type: 'boolean', short: 'k' },
  method: { type: 'string', short: 'X' },
  header: { type: 'string', short: 'H', multiple: true },
  'dns-timeout': { type: 'string' },
  'connect-timeout': { type: 'string' },
  'tls-timeout': { type: 'string' },
  'http-timeout': { type: 'string' },
  samples: { type: 'string' },
  'path-timeout': { type: 'string' },
  'no-path': { type: 'boolean' },
  json: { type: 'boolean' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses the arguments after `probe`. Reads `--ca` files.
 *
 * @throws UsageError for anything the command line got wrong.
 */
export async function parseProbeArgs(args: readonly string[]): Promise<ProbeCommand | HelpCommand> {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(parseErrorMessage(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: 'help' };
  if (positionals.length === 0) throw new UsageError('missing the <url> to probe');
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])}`);
  const url = parseUrl(positionals[0]!);

  const resolvers = values.resolver ?? [];
  for (const r of resolvers) {
    if (!isResolverAddress(r)) {
      throw new UsageError(
        `--resolver must be an IP address with an optional port (1.1.1.1, 10.0.0.2:5353, [::1]:53); received ${JSON.stringify(r)}`,
      );
    }
  }
  if (values['no-system'] && resolvers.length === 0) {
    throw new UsageError('--no-system needs at least one --resolver (some resolver must be asked)');
  }
  const method = values.method ?? 'GET';
  if (!METHOD.test(method) || method.toUpperCase() === 'CONNECT') {
    throw new UsageError(
      `--method must be an HTTP method name other than CONNECT; received ${JSON.stringify(method)}`,
    );
  }
  const headers = (values.header ?? []).map(parseHeader);
  const ca = values.ca === undefined ? undefined : await Promise.all(values.ca.map(readCa));
  const options: ProbeOptions = {
    resolvers,
    system: !values['no-system'],
    insecure: values.insecure ?? false,
    method,
    path: !values['no-path'],
    samples: samples(values.samples),
    headers,
    timeouts: {
      dns: timeout(values['dns-timeout'], '--dns-timeout', d.dns),
      connect: timeout(values['connect-timeout'], '--connect-timeout', d.connect),
      tls: timeout(values['tls-timeout'], '--tls-timeout', d.tls),
      path: timeout(values['path-timeout'], '--path-timeout', d.path),
      http: timeout(values['http-timeout'], '--http-timeout', d.http),
    },
    ...(ca === undefined ? {} : { ca }),
  };
  return { kind: 'probe', url, options, json: values.json ?? false, strict: values.strict ?? false };
}

function parseUrl(text: string): URL {
  try {
    return parseTarget(text);
  } catch (err) {
    if (!(err instanceof InvalidOptionError)) throw err;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && URL.canParse(text)) {
      throw new UsageError(`cannot probe ${new URL(text).protocol} URLs: only http: and https:`);
    }
    throw new UsageError(
      `${JSON.stringify(text)} is not an absolute http(s) URL (for example https://api.example.com/health)`,
    );
  }
}

/** `-H 'name: value'` as curl takes it: the name, a colon, the value (spaces around it trimmed). */
function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) {
    // Only the start is shown: the rest may be a secret (`-H 'Authorization Bearer ...'`).
    const start = text.trim().split(/\s/)[0] ?? '';
    throw new UsageError(
      `--header must be 'name: value' (a colon after the name); received ${colon === 0 ? 'no name before the colon' : `${JSON.stringify(start.slice(0, 40))}${text.trim().length > start.length ? ' ...' : ''} without a colon`}`,
    );
  }
  const name = text.slice(0, colon);
  const value = text.slice(colon + 1).trim();
  const problem = headerProblem(name, value);
  if (problem !== undefined) {
    throw new UsageError(
      `--header must be 'name: value' with ${problem}; received ${JSON.stringify(`${name}: ${redactHeaderValue(name, value)}`)}`,
    );
  }
  return [name, value];
}

function timeout(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value > 0 && value <= MAX_DURATION)) {
    throw new UsageError(
      `${flag} must be a whole number of milliseconds > 0 and ≤ ${MAX_DURATION}; received ${JSON.stringify(text)}`,
    );
  }
  return value;
}

function samples(text: string | undefined): number {
  if (text === undefined) return DEFAULT_SAMPLES;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(value <= MAX_SAMPLES)) {
    throw new UsageError(
      `--samples must be a whole number from 0 to ${MAX_SAMPLES}; received ${JSON.stringify(text)}`,
    );
  }
  return value;
}

async function readCa(file: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new UsageError(
      `cannot read --ca file ${JSON.stringify(file)}${typeof code === 'string' ? ` (${code})` : ''}`,
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`--ca file ${JSON.stringify(file)} holds no PEM certificate`);
  }
  return pem;
}

/** parseArgs' own messages are good; they only need the flag's trailing advice trimmed. */
function parseErrorMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('. To specify a positional argument')[0]!.replace(/\.$/, '');
}

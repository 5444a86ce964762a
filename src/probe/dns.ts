/**
 * The probe's DNS layer: asks the system resolver (`dns.lookup`, as the application would) and
 * each `--resolver` (A and AAAA with their TTLs) in parallel, compares their answers, and hands
 * every address found to the TCP layer. `dig @server` and `getent hosts`, side by side.
 */
import { lookup } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import { redactText } from '../errors/redact.ts';
import { hostKey, parseLiteral } from '../transport/dns/host-name.ts';
import { resolveDnsOptions } from '../transport/dns/options.ts';
import { type Outcome, queryResolver } from '../transport/dns/query.ts';
import type { ResolvedProbeOptions } from './options.ts';
import {
  type DnsReport,
  type DnsSourceReport,
  ms,
  okOrSuspect,
  oneLine,
  type ProbeAddress,
  slowWarning,
} from './report.ts';

/** The addresses the TCP layer connects to, with their families. */
export interface DnsLayerResult {
  readonly report: DnsReport;
  readonly addresses: readonly { readonly address: string; readonly family: 4 | 6 }[];
}

// queryResolver only reads `family` (both) and the TTL clamps (unused: the raw TTLs are reported).
const QUERY_OPTIONS = resolveDnsOptions({});
/** c-ares tries a server this often; each try gets its share of the timeout. */
const TRIES = 2;

/** Resolves `host` (the URL's hostname) through every configured source. Never rejects. */
export async function probeDns(host: string, o: ResolvedProbeOptions): Promise<DnsLayerResult> {
  const started = performance.now();
  const literal = parseLiteral(host);
  if (literal !== undefined) {
    const address: ProbeAddress = { address: literal.address, family: literal.family, ttl: null };
    return {
      report: {
        verdict: 'ok',
        reason: `${literal.address} is an IP address: nothing to resolve`,
        code: null,
        duration: 0,
        warnings: [],
        host: literal.address,
        literal: true,
        sources: [],
        addresses: [literal.address],
        differ: false,
      },
      addresses: [address],
    };
  }
  const timeout = o.timeouts.dns;
  const sources = await Promise.all([
    ...(o.system ? [askSystem(host, timeout)] : []),
    ...o.resolvers.map((server) => askResolver(server, host, timeout)),
  ]);
  const duration = ms(performance.now() - started);
  const addresses = union(sources);
  const answered = sources.filter((s) => s.verdict === 'ok');
  const differ = new Set(answered.map(addressSet)).size > 1;
  const details = { host, literal: false, sources, addresses: addresses.map((a) => a.address), differ };

  if (answered.length === 0) {
    const code = sources[0]!.code ?? 'DNS_SERVER_FAILURE';
    const same = sources.every((s) => s.code === code);
    const who = sources.length === 1 ? '' : same ? ' (every resolver)' : ` (${codesOf(sources)})`;
    return {
      report: {
        verdict: 'failed',
        reason: `${host}: ${ERROR_CODES[code].summary}${who}`,
        code,
        duration,
        warnings: [],
        ...details,
      },
      addresses: [],
    };
  }

  const warnings: string[] = [];
  let code: ErrorCode | null = null;
  for (const s of sources) {
    if (s.code === null) continue;
    code ??= s.code;
    warnings.push(
      s.verdict === 'failed'
        ? `${s.resolver}: ${s.code} — ${ERROR_CODES[s.code].summary}`
        : `${s.resolver}: ${s.code} — ${s.error}; the answer may be incomplete`,
    );
  }
  if (differ) {
    warnings.push(
      `answers differ: ${answered.map((s) => `${s.resolver} → ${addressSet(s) || 'none'}`).join('; ')}`,
    );
  }
  for (const s of answered) {
    const slow = slowWarning(`${s.resolver}'s answer`, s.duration, timeout);
    if (slow !== undefined) warnings.push(slow);
  }
  const agree = answered.length > 1 && !differ ? ` (${answered.length} resolvers agree)` : '';
  return {
    report: {
      verdict: okOrSuspect(warnings),
      reason: warnings[0] ?? `${host} → ${details.addresses.join(', ')}${agree}`,
      code,
      duration,
      warnings,
      ...details,
    },
    addresses,
  };
}

/** `dns.lookup(host, { all: true })` under `timeout`. getaddrinfo reports no TTL. */
function askSystem(host: string, timeout: number): Promise<DnsSourceReport> {
  const started = performance.now();
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const finish = (addresses: ProbeAddress[], code: ErrorCode | null, error: string | null): void => {
      if (timer === undefined) return;
      clearTimeout(timer);
      timer = undefined;
      const verdict = code === null ? 'ok' : 'failed';
      resolve({
        resolver: 'system',
        verdict,
        duration: ms(performance.now() - started),
        addresses,
        code,
        error,
      });
    };
    timer = setTimeout(() => finish([], 'DNS_TIMEOUT', `no answer within ${timeout} ms`), timeout);
    // A getaddrinfo call cannot be cancelled: after a timeout its late answer is ignored.
    lookup(host, { all: true, order: 'verbatim' }, (err, found) => {
      if (err) return finish([], dnsCode(err), describe(err));
      const addresses = found
        .filter((a) => a.family === 4 || a.family === 6)
        .map((a) => ({ address: a.address, family: a.family as 4 | 6, ttl: null }));
      if (addresses.length === 0) finish([], 'DNS_NO_DATA', 'no address');
      else finish(addresses, null, null);
    });
  });
}

/** A and AAAA from one server, with their TTLs, under `timeout`. */
async function askResolver(server: string, host: string, timeout: number): Promise<DnsSourceReport> {
  const started = performance.now();
  const report = (outcome: Outcome): DnsSourceReport => {
    const duration = ms(performance.now() - started);
    if (outcome.kind === 'answer') {
      const addresses = outcome.addresses.map((a) => ({ address: a.address, family: a.family, ttl: a.ttl }));
      const missing = outcome.missing;
      if (missing === undefined) {
        return { resolver: server, verdict: 'ok', duration, addresses, code: null, error: null };
      }
      // One family's query failed transiently: an answer, but an incomplete one.
      const type = missing.family === 4 ? 'A' : 'AAAA';
      const error = `${type} query failed: ${describe(missing.failure.cause ?? missing.failure.code)}`;
      return { resolver: server, verdict: 'ok', duration, addresses, code: missing.failure.code, error };
    }
    if (outcome.kind === 'closed') {
      return {
        resolver: server,
        verdict: 'failed',
        duration,
        addresses: [],
        code: 'DNS_TIMEOUT',
        error: null,
      };
    }
    const error = outcome.cause === undefined ? null : describe(outcome.cause);
    return { resolver: server, verdict: 'failed', duration, addresses: [], code: outcome.code, error };
  };
  const name = hostKey(host);
  if (name === undefined) {
    return report({ kind: 'negative', code: 'DNS_NOT_FOUND', cause: new Error('not a valid host name') });
  }
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(timeout / TRIES)), tries: TRIES });
  try {
    resolver.setServers([server]);
  } catch (err) {
    return report({ kind: 'failure', code: 'DNS_SERVER_FAILURE', cause: err });
  }
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<Outcome>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({ kind: 'failure', code: 'DNS_TIMEOUT', cause: new Error(`no answer within ${timeout} ms`) }),
      timeout,
    );
  });
  try {
    return report(await Promise.race([queryResolver(resolver, name, QUERY_OPTIONS), deadline]));
  } finally {
    clearTimeout(timer);
    resolver.cancel();
  }
}

function dnsCode(err: unknown): ErrorCode {
  const c = classify(err);
  return c.layer === 'dns' ? c.code : 'DNS_SERVER_FAILURE';
}

function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return oneLine(redactText(message));
}

function codesOf(sources: readonly DnsSourceReport[]): string {
  return sources.map((s) => `${s.resolver}: ${s.code}`).join(', ');
}

/** Every address found, deduplicated, in the order of the sources and of each answer. */
function union(sources: readonly DnsSourceReport[]): { address: string; family: 4 | 6 }[] {
  const seen = new Map<string, 4 | 6>();
  for (const s of sources)
    for (const a of s.addresses) if (!seen.has(a.address)) seen.set(a.address, a.family);
  return Array.from(seen, ([address, family]) => ({ address, family }));
}

/** The addresses of one answer as a comparable string (order does not matter between resolvers). */
function addressSet(source: DnsSourceReport): string {
  return [...new Set(source.addresses.map((a) => a.address))].sort().join(', ');
}

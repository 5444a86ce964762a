/**
 * `probe(url)`: the incident playbook's first five minutes as one call — DNS, TCP, TLS and HTTP,
 * checked in that order on one connection, each with its own timeout and a verdict; then the
 * network path (loss, MTU) on connections of its own, reported between TLS and HTTP. Layers after
 * a failed one are `skipped` (the path layer excepted: it explains TLS and HTTP failures), so the
 * report names the broken layer instead of "it times out".
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactText } from '../errors/redact.ts';
import { probeDns } from './dns.ts';
import { probeHttp, shownHeaders } from './http.ts';
import { type ProbeOptions, type ResolvedProbeOptions, resolveProbeOptions } from './options.ts';
import { judgePath, measurePath, skippedPath } from './path.ts';
import {
  type HttpReport,
  ms,
  type PathReport,
  PROBE_LAYERS,
  PROBE_SCHEMA,
  type ProbeReport,
  skippedBase,
  type TcpReport,
  type TlsReport,
} from './report.ts';
import { probeTcp } from './tcp.ts';
import { probeTls } from './tls.ts';

/**
 * Probes `url` layer by layer and reports a verdict per layer. Never rejects for a network
 * failure: that is what the report is for.
 *
 * @throws InvalidOptionError for a URL that is not `http:`/`https:` or a bad option.
 * @example
 * ```ts
 * import { probe } from 'bulwark';
 *
 * const report = await probe('https://api.example.com/health', { resolvers: ['1.1.1.1'] });
 * console.log(report.verdict, report.firstFailed); // 'failed' 'tls'
 * console.log(report.layers.tls.code, report.layers.tls.daysUntilExpiry); // 'TLS_CERT_EXPIRED' -2
 * console.log(report.layers.path.estimatedLoss, report.layers.path.brokeAt); // 0 null
 * ```
 */
export async function probe(url: string | URL, options?: ProbeOptions): Promise<ProbeReport> {
  const target = parseTarget(url);
  const o = resolveProbeOptions(options);
  const startedAt = new Date();
  const started = performance.now();
  const host = target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname;
  const secure = target.protocol === 'https:';
  const port = Number(target.port) || (secure ? 443 : 80);

  const noTls = 'plain http: no TLS';
  const dns = await probeDns(host, o);
  let tcp: TcpReport;
  let tls: TlsReport;
  let http: HttpReport;
  let path: PathReport;
  if (dns.report.verdict === 'failed') {
    tcp = skippedTcp(port, 'DNS failed');
    tls = skippedTls(secure ? 'DNS failed' : noTls, o.insecure);
    path = skippedPath('DNS failed', o.timeouts.path);
    http = skippedHttp(target, o, 'DNS failed');
  } else {
    const t = await probeTcp(dns.addresses, port, o.timeouts.connect);
    tcp = t.report;
    if (t.socket === undefined) {
      tls = skippedTls(secure ? 'TCP failed' : noTls, o.insecure);
      http = skippedHttp(target, o, 'TCP failed');
    } else if (!secure) {
      tls = skippedTls(noTls, o.insecure);
      http = await probeHttp(t.socket, target, o);
    } else {
      const s = await probeTls(t.socket, host, dns.report.literal, t.report.address!, o);
      tls = s.report;
      http =
        s.socket === undefined ? skippedHttp(target, o, 'TLS failed') : await probeHttp(s.socket, target, o);
    }
    // The path layer, on connections of its own, once the others are done: its connect times
    // are read in this process, and a quiet event loop keeps them close to the network's.
    if (!o.path) path = skippedPath('not asked for (--no-path)', o.timeouts.path);
    else if (t.socket === undefined) path = skippedPath('TCP failed', o.timeouts.path);
    else {
      const measured = await measurePath(
        tcp as TcpReport & { address: string },
        target,
        host,
        dns.report.literal,
        o,
      );
      path = judgePath(measured, tls, port, o.timeouts.path);
    }
  }

  const layers = { dns: dns.report, tcp, tls, path, http };
  const firstFailed = PROBE_LAYERS.find((l) => layers[l].verdict === 'failed') ?? null;
  const suspect = PROBE_LAYERS.some((l) => layers[l].verdict === 'suspect');
  return {
    schema: PROBE_SCHEMA,
    url: redactText(target.href),
    startedAt: startedAt.toISOString(),
    duration: ms(performance.now() - started),
    verdict: firstFailed !== null ? 'failed' : suspect ? 'suspect' : 'healthy',
    firstFailed,
    layers,
  };
}

/** The URL to probe, or an `InvalidOptionError` saying why not. */
export function parseTarget(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(String(url));
  } catch {
    throw new InvalidOptionError('url', 'an absolute http: or https: URL', url);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new InvalidOptionError('url', 'an http: or https: URL', `${parsed.protocol} URL`);
  }
  return parsed;
}

function skippedTcp(port: number, reason: string): TcpReport {
  return { ...skippedBase(reason), port, address: null, attempts: [] };
}

function skippedTls(reason: string, insecure: boolean): TlsReport {
  return {
    ...skippedBase(reason),
    address: null,
    servername: null,
    protocol: null,
    cipher: null,
    alpn: null,
    authorized: null,
    verifyError: null,
    insecure,
    chain: [],
    daysUntilExpiry: null,
    bytesSent: null,
    bytesReceived: null,
    hint: null,
  };
}

function skippedHttp(url: URL, o: ResolvedProbeOptions, reason: string): HttpReport {
  return {
    ...skippedBase(reason),
    method: o.method,
    path: url.pathname,
    status: null,
    statusText: null,
    ttfb: null,
    headers: { server: null, retryAfter: null, location: null, contentType: null },
    retryAfterSeconds: null,
    requestHeaders: shownHeaders(o),
    hint: null,
  };
}

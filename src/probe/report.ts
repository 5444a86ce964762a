/**
 * The report of `bulwark probe` as data: one verdict per layer (DNS, TCP, TLS, path, HTTP) with
 * the evidence behind it. This is also the `--json` output, so its shape is a contract: every key is
 * always present (`null` when it does not apply) and `schema` changes when the shape does.
 */
import type { ErrorCode } from '../errors/codes.ts';
import type { SchemeHint } from '../errors/scheme-hint.ts';

/**
 * What a layer's check concluded.
 *
 * - `ok`: the layer works.
 * - `suspect`: it works, but something deserves a look (a certificate that expires within 14 days,
 *   resolvers that disagree, a slow phase, a 5xx or 429).
 * - `failed`: it does not work; the layers after it were not tried (a failed `path` layer is the
 *   exception: it runs on connections of its own, and `http` is still tried).
 * - `skipped`: not tried, because an earlier layer failed or it does not apply (TLS for `http:`).
 */
export type Verdict = 'ok' | 'suspect' | 'failed' | 'skipped';

/**
 * The five layers a probe checks, in order: the four a request crosses, and between TLS and HTTP
 * the network path (packet loss, MTU), checked on connections of its own.
 */
export type ProbeLayer = 'dns' | 'tcp' | 'tls' | 'path' | 'http';

/** The layers in the order of the report (the incident triage order: DNS, TCP/TLS, path, L7). */
export const PROBE_LAYERS: readonly ProbeLayer[] = Object.freeze(['dns', 'tcp', 'tls', 'path', 'http']);

/** What every layer's report has. */
export interface LayerReport {
  /** The layer's verdict: `ok`, `suspect`, `failed` or `skipped`. */
  readonly verdict: Verdict;
  /** One line for humans: why this verdict. */
  readonly reason: string;
  /**
   * The taxonomy code of the failure (`TLS_CERT_EXPIRED`, `TCP_REFUSED`, ...), from `classify()`;
   * also set on a `suspect` verdict a code explains (`HTTP_STATUS` for a 503, a TLS code under
   * `--insecure`). Usually of the same layer; a reset during the TLS handshake is `TCP_RESET`.
   */
  readonly code: ErrorCode | null;
  /** How long the layer took, in milliseconds (0.1 ms precision); `null` when skipped. */
  readonly duration: number | null;
  /** Everything that made the verdict `suspect`, one line each. */
  readonly warnings: readonly string[];
}

/** One address as a resolver returned it. */
export interface ProbeAddress {
  /** The IP address (IPv6 without brackets). */
  readonly address: string;
  /** `4` (an A record) or `6` (AAAA). */
  readonly family: 4 | 6;
  /** The record's TTL in seconds as received; `null` from the system resolver, which reports none. */
  readonly ttl: number | null;
}

/** What one resolver answered. */
export interface DnsSourceReport {
  /** `'system'` (`dns.lookup`: hosts file, nsswitch, the configured resolvers) or the server asked. */
  readonly resolver: string;
  /** `ok` when it returned at least one address (possibly incomplete: then `code` is set). */
  readonly verdict: 'ok' | 'failed';
  /** How long it took to answer, in milliseconds. */
  readonly duration: number;
  /** What it answered: A records first, then AAAA. */
  readonly addresses: readonly ProbeAddress[];
  /** Why it failed (`DNS_NOT_FOUND`, `DNS_TIMEOUT`, ...), or why its answer may be incomplete. */
  readonly code: ErrorCode | null;
  /** The original error's message, redacted. */
  readonly error: string | null;
}

/** The DNS layer. */
export interface DnsReport extends LayerReport {
  /** The host name of the URL (an IPv6 literal without brackets). */
  readonly host: string;
  /** The host is an IP address: nothing was resolved. */
  readonly literal: boolean;
  /** One entry per resolver asked, in the order asked: the system resolver first. */
  readonly sources: readonly DnsSourceReport[];
  /** Every address any resolver returned, deduplicated, in order: what the TCP layer connects to. */
  readonly addresses: readonly string[];
  /** The resolvers that answered returned different sets of addresses. */
  readonly differ: boolean;
}

/** One TCP connection attempt. */
export interface TcpAttemptReport {
  /** The address connected to. */
  readonly address: string;
  /** `4` or `6`. */
  readonly family: 4 | 6;
  /** `ok` when the handshake completed. */
  readonly verdict: 'ok' | 'failed';
  /** How long the handshake took (or until it failed), in milliseconds. */
  readonly duration: number;
  /** Why it failed: `TCP_REFUSED` (nothing listens), `TCP_TIMEOUT` (a path or a firewall), ... */
  readonly code: ErrorCode | null;
  /** The original error's message, redacted. */
  readonly error: string | null;
}

/** The TCP layer: a connection to each address, in parallel. */
export interface TcpReport extends LayerReport {
  /** The port connected to (from the URL, or 80 / 443). */
  readonly port: number;
  /** The address the TLS and HTTP layers use: the first one (in DNS order) that accepted. */
  readonly address: string | null;
  /** One handshake per address, in DNS order (at most 8). */
  readonly attempts: readonly TcpAttemptReport[];
}

/** One certificate of the chain the server presented, leaf first. */
export interface CertificateReport {
  /** The subject, as `CN=...` (or the whole distinguished name when it has no CN). */
  readonly subject: string;
  /** The issuer, in the same form; equal to `subject` for a self-signed certificate. */
  readonly issuer: string;
  /** ISO 8601. */
  readonly validFrom: string | null;
  /** ISO 8601. */
  readonly validTo: string | null;
  /** The subject alternative names, as Node prints them (`DNS:localhost, IP Address:127.0.0.1`). */
  readonly subjectAltName: string | null;
  /** The SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string | null;
}

/** The TLS layer (https only), on the connection the TCP layer chose. */
export interface TlsReport extends LayerReport {
  /** The address of the connection the handshake ran on. */
  readonly address: string | null;
  /** The SNI sent; `null` for an IP address (SNI cannot carry one). */
  readonly servername: string | null;
  /** `TLSv1.3`, ... */
  readonly protocol: string | null;
  /** The negotiated cipher suite (its IANA name). */
  readonly cipher: string | null;
  /** The protocol agreed through ALPN (`http/1.1`), when the server took part. */
  readonly alpn: string | null;
  /** The chain verified against the trusted CAs and the host name. `null` when the handshake failed. */
  readonly authorized: boolean | null;
  /** OpenSSL's or Node's verification error (`CERT_HAS_EXPIRED`, `ERR_TLS_CERT_ALTNAME_INVALID`). */
  readonly verifyError: string | null;
  /** `--insecure`: a verification failure was reported `suspect` and the probe went on. */
  readonly insecure: boolean;
  /** The certificates the server presented (and the root they lead to, when trusted), leaf first. */
  readonly chain: readonly CertificateReport[];
  /** Whole days until the leaf certificate expires (negative once expired). */
  readonly daysUntilExpiry: number | null;
  /**
   * Bytes the client wrote during the handshake (its ClientHello and what followed) and bytes it
   * read: a ClientHello larger than one packet that gets nothing back is what an MTU blackhole
   * looks like (see the path layer). `null` when skipped.
   */
  readonly bytesSent: number | null;
  readonly bytesReceived: number | null;
  /**
   * `'use-http'` when the port answered the handshake in plain text (OpenSSL's "wrong version
   * number"): it speaks plain HTTP. The reason says so in words. `null` otherwise.
   */
  readonly hint: SchemeHint | null;
}

/** The connect-time distribution to one address (the path layer's samples). */
export interface PathConnectReport {
  /** The address connected to. */
  readonly address: string;
  /** `4` or `6`. */
  readonly family: 4 | 6;
  /** Connects started. */
  readonly samples: number;
  /** Connects that completed within the window. */
  readonly connected: number;
  /** Connects that failed outright (refused, reset); they say nothing about loss. */
  readonly failed: number;
  /** The fastest connect: the base RTT the others are compared with (ms). */
  readonly min: number | null;
  /** Median, 90th percentile and slowest connect (ms). */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly max: number | null;
  /** Connects that show the SYN-retransmit signature (about +1 s, +2 s or +3 s over the base RTT). */
  readonly retransmitted: number;
  /** SYNs lost (one per retransmit point a connect waited through) and SYNs whose fate is known. */
  readonly synsLost: number;
  readonly synsSent: number;
  /** `synsLost ÷ synsSent`: the estimated loss of SYNs and SYN-ACKs on the path (0 to 1). */
  readonly estimatedLoss: number | null;
  /** Each connect's time in ms, in the order started; `null` for one that failed or was still pending at the window's end. */
  readonly durations: readonly (number | null)[];
}

/**
 * What became of one request of the path layer's small-vs-large exchange:
 * - `answered`: a response byte arrived (any status: a 431 for a huge header proves the path too);
 * - `closed`: the server closed or reset the connection without a response: it got the request;
 * - `silent`: nothing came back within the window (a blackhole, or a server that does not answer);
 * - `failed`: the exchange could not be tried (the connect or the handshake failed).
 */
export type ExchangeOutcome = 'answered' | 'closed' | 'silent' | 'failed';

/** One request of the path layer's exchange: the same request, padded to a size. */
export interface PathExchangeReport {
  /** The request's size in bytes (HTTP; TLS adds its record overhead). */
  readonly bytes: number;
  /** What became of it. */
  readonly outcome: ExchangeOutcome;
  /** Until the first response byte (or the close), ms; `null` when silent or failed. */
  readonly duration: number | null;
  /** The response status, when one arrived. */
  readonly status: number | null;
  /** Why it failed or what the silence was: `HTTP_HEADERS_TIMEOUT`, `TLS_TIMEOUT`, `TCP_RESET`, ... */
  readonly code: ErrorCode | null;
  /** What happened, in words. */
  readonly error: string | null;
}

/**
 * The path layer: packet loss and MTU, on connections of its own, measured after the TLS and HTTP layers.
 * `--samples` connects per address give the connect-time distribution and the share that needed
 * a SYN retransmission (the estimated loss); the same request padded to 1.4, 4 and 16 KB, beside
 * the unpadded one, finds where large exchanges stall while small ones pass (an MTU blackhole).
 */
export interface PathReport extends LayerReport {
  /** How long the samples and the exchanges may take, ms (`--path-timeout`). */
  readonly window: number;
  /** One entry per address that accepted a connection in the tcp layer. */
  readonly connects: readonly PathConnectReport[];
  /** Lost SYNs ÷ SYNs sent over every address (0 to 1); `null` when nothing was sampled. */
  readonly estimatedLoss: number | null;
  /** The address the exchanges went to (the tcp layer's choice). */
  readonly address: string | null;
  /** The exchanges, smallest request first. */
  readonly exchanges: readonly PathExchangeReport[];
  /**
   * The size in bytes of the smallest request (or TLS ClientHello) that got no answer while a
   * smaller one was answered: where the MTU blackhole starts. `null` when none was found.
   */
  readonly brokeAt: number | null;
}

/** Response headers worth seeing during an incident. */
export interface HttpHeadersReport {
  /** `Server`: which proxy or server answered (an edge proxy's 503 is not the app's). */
  readonly server: string | null;
  /** `Retry-After`, as sent. */
  readonly retryAfter: string | null;
  /** `Location` of a redirect (not followed). */
  readonly location: string | null;
  /** `Content-Type`. */
  readonly contentType: string | null;
}

/** The HTTP layer: one request on the connection the earlier layers opened. */
export interface HttpReport extends LayerReport {
  /** The method sent. */
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The response status; `null` when no response arrived. */
  readonly status: number | null;
  /** The status's standard reason phrase (`Service Unavailable`). */
  readonly statusText: string | null;
  /** Time to first byte: from sending the request to the response headers, in milliseconds. */
  readonly ttfb: number | null;
  /** Response headers worth seeing during an incident. */
  readonly headers: HttpHeadersReport;
  /** `Retry-After` in seconds (from seconds or an HTTP date). */
  readonly retryAfterSeconds: number | null;
  /** The caller's request headers (`--header`), as sent, secret values redacted. */
  readonly requestHeaders: readonly ProbeHeader[];
  /**
   * `'use-https'` when a plain-HTTP request met a port that speaks TLS: it answered with a TLS
   * record, with an HTTPS server's "plain HTTP request was sent to HTTPS port" 400, or closed the
   * connection and then completed a TLS handshake. The reason says so in words. `null` otherwise.
   */
  readonly hint: SchemeHint | null;
}

/** A request header as the report shows it. */
export interface ProbeHeader {
  /** Lower-cased. */
  readonly name: string;
  /** The value, or `[redacted]` for a secret one (`Bearer [redacted]` for an `Authorization`). */
  readonly value: string;
}

/**
 * The whole probe: `bulwark probe --json` prints exactly this (schema `bulwark.probe/v3`: v2 plus
 * the `hint` of the TLS and HTTP layers and the HTTP layer's `requestHeaders`; v2 was v1 plus the
 * `path` layer and the TLS layer's byte counts). Every key is always present; values that do not
 * apply are `null` (or `[]`).
 *
 * @example
 * ```jsonc
 * {
 *   "schema": "bulwark.probe/v3",
 *   "url": "https://api.example.com/health",
 *   "startedAt": "2025-01-31T09:12:44.120Z",
 *   "duration": 41.7,
 *   "verdict": "failed",             // healthy | suspect | failed
 *   "firstFailed": "tls",            // dns | tcp | tls | path | http | null
 *   "layers": {
 *     "dns":  { "verdict": "ok", "reason": "...", "code": null, "duration": 3.1, "warnings": [],
 *               "host": "api.example.com", "literal": false, "differ": false, "addresses": ["203.0.113.7"],
 *               "sources": [{ "resolver": "system", "verdict": "ok", "duration": 3.1, "code": null, "error": null,
 *                             "addresses": [{ "address": "203.0.113.7", "family": 4, "ttl": null }] }] },
 *     "tcp":  { "verdict": "ok", ..., "port": 443, "address": "203.0.113.7", "attempts": [ ... ] },
 *     "tls":  { "verdict": "failed", "reason": "the certificate expired 2 days ago, ...", "code": "TLS_CERT_EXPIRED",
 *               ..., "servername": "api.example.com", "protocol": "TLSv1.3", "authorized": false,
 *               "verifyError": "CERT_HAS_EXPIRED", "daysUntilExpiry": -2, "chain": [ ... ],
 *               "bytesSent": 1588, "bytesReceived": 2871, "hint": null },
 *     "path": { "verdict": "ok", "reason": "10 connects to 203.0.113.7: median 21.3 ms, no SYN retransmitted; ...",
 *               "code": null, ..., "window": 3500, "estimatedLoss": 0, "address": "203.0.113.7", "brokeAt": null,
 *               "connects": [{ "address": "203.0.113.7", "samples": 10, "connected": 10, "p50": 21.3, ... }],
 *               "exchanges": [{ "bytes": 143, "outcome": "answered", "duration": 44.1, "status": 200, ... }, ...] },
 *     "http": { "verdict": "skipped", "reason": "TLS failed", "code": null, "duration": null, ...,
 *               "status": null, "ttfb": null, "headers": { "server": null, ... },
 *               "requestHeaders": [{ "name": "authorization", "value": "Bearer [redacted]" }], "hint": null }
 *   }
 * }
 * ```
 */
export interface ProbeReport {
  /** The shape's name and version; it changes only when the shape does. */
  readonly schema: 'bulwark.probe/v3';
  /** The URL probed, without user-info or query string values. */
  readonly url: string;
  /** When the probe started, ISO 8601. */
  readonly startedAt: string;
  /** The whole probe, in milliseconds. */
  readonly duration: number;
  /** `failed` if a layer failed, `suspect` if one is suspect, else `healthy`. */
  readonly verdict: 'healthy' | 'suspect' | 'failed';
  /** The first layer that failed, or `null`. */
  readonly firstFailed: ProbeLayer | null;
  /** One report per layer, always all five (`skipped` when not tried). */
  readonly layers: {
    /** Name resolution. */
    readonly dns: DnsReport;
    /** The TCP handshakes. */
    readonly tcp: TcpReport;
    /** The TLS handshake (`skipped` for `http:`). */
    readonly tls: TlsReport;
    /** Packet loss and MTU on the network path (`skipped` with `--no-path` or when TCP failed). */
    readonly path: PathReport;
    /** The one request. */
    readonly http: HttpReport;
  };
}

/** The schema name of {@link ProbeReport}. */
export const PROBE_SCHEMA = 'bulwark.probe/v3';

/** Milliseconds to 0.1 ms. */
export function ms(value: number): number {
  return Math.round(value * 10) / 10;
}

/** The verdict of a layer from its warnings: `suspect` when there are any. */
export function okOrSuspect(warnings: readonly string[]): 'ok' | 'suspect' {
  return warnings.length > 0 ? 'suspect' : 'ok';
}

/** A phase slower than half its timeout is suspect (the timeout is the point where it fails). */
export function slowWarning(what: string, duration: number, timeout: number): string | undefined {
  return duration > timeout / 2
    ? `${what} took ${ms(duration)} ms, more than half its ${timeout} ms timeout`
    : undefined;
}

/** The common part of a layer that was not tried. */
export function skippedBase(reason: string): LayerReport {
  return { verdict: 'skipped', reason, code: null, duration: null, warnings: [] };
}

/** An error's message for a report: redacted by the caller, one line, bounded. */
export function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

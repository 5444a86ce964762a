/**
 * The probe's TLS layer: a handshake on the connection the TCP layer opened, with the URL's host as
 * SNI — `openssl s_client -servername`. It always completes the handshake to show the chain, then
 * judges the verification itself, so an expired or untrusted certificate is reported with its
 * chain and its code (`TLS_CERT_EXPIRED`, ...) rather than as a bare handshake error.
 */
import type { Socket } from 'node:net';
import tls, { type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { MTU_HINT_BYTES } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import { redactText } from '../errors/redact.ts';
import { SCHEME_HINTS, type SchemeHint, schemeHintOf } from '../errors/scheme-hint.ts';
import { CERTIFICATE_WARNING_DAYS, daysUntil } from '../transport/connection.ts';
import type { ResolvedProbeOptions } from './options.ts';
import { type CertificateReport, ms, okOrSuspect, oneLine, slowWarning, type TlsReport } from './report.ts';

/** What the TLS layer hands on: its report and, unless it failed, the secure connection. */
export interface TlsLayerResult {
  readonly report: TlsReport;
  readonly socket: TLSSocket | undefined;
}

/** Fewer days than this before the leaf certificate expires make the layer `suspect`. */
export const EXPIRY_WARNING_DAYS = CERTIFICATE_WARNING_DAYS;
/** Chains longer than this are not real; stop walking (a cycle without a self-signed root). */
const MAX_CHAIN = 10;

/**
 * Runs the handshake on `socket` (which it takes over: destroyed unless handed back). `host` is the
 * URL's hostname (an IPv6 literal without brackets); `literal` says whether it is an IP address.
 */
export function probeTls(
  socket: Socket,
  host: string,
  literal: boolean,
  address: string,
  o: ResolvedProbeOptions,
): Promise<TlsLayerResult> {
  const started = performance.now();
  const servername = literal ? null : host;
  const timeout = o.timeouts.tls;
  const blank = {
    address,
    servername,
    protocol: null,
    cipher: null,
    alpn: null,
    authorized: null,
    verifyError: null,
    insecure: o.insecure,
    chain: [],
    daysUntilExpiry: null,
    bytesSent: null,
    bytesReceived: null,
    hint: null,
  };
  // What went over the wire: the TCP socket counts the TLS records.
  const bytes = () => ({ bytesSent: socket.bytesWritten, bytesReceived: socket.bytesRead });
  return new Promise((resolve) => {
    const secure = tls.connect({
      socket,
      // The name checked against the certificate (an IP address is matched against its IP SANs).
      host,
      ...(servername === null ? {} : { servername }),
      ...(o.ca === undefined ? {} : { ca: [...o.ca] }),
      // Verification is judged below, after the chain has been read.
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const fail = (code: ErrorCode, reason: string, hint: SchemeHint | null = null): void => {
      const counted = bytes();
      clearTimeout(timer);
      secure.off('secureConnect', onSecure);
      secure.off('error', onError);
      secure.on('error', ignore);
      secure.destroy();
      const duration = ms(performance.now() - started);
      resolve({
        report: { verdict: 'failed', reason, code, duration, warnings: [], ...blank, ...counted, hint },
        socket: undefined,
      });
    };
    const onError = (err: Error): void => {
      const c = classify(err);
      const code = c.layer === 'tls' || c.layer === 'tcp' ? c.code : 'TLS_HANDSHAKE_FAILED';
      const reason = `handshake failed: ${oneLine(redactText(err.message))}`;
      // The port answered in plain text: say in words what to do (errors/scheme-hint.ts).
      const hint = schemeHintOf('https:', 0, code, err, true) ?? null;
      fail(code, hint === null ? reason : `${SCHEME_HINTS[hint]} (${reason})`, hint);
    };
    const onSecure = (): void => {
      clearTimeout(timer);
      secure.off('error', onError);
      const report = judge(secure, { ...blank, ...bytes() }, host, o, ms(performance.now() - started));
      if (report.verdict === 'failed') {
        secure.on('error', ignore);
        secure.destroy();
        resolve({ report, socket: undefined });
      } else {
        // Until the HTTP layer takes the socket over, a reset must not become an uncaught error.
        secure.on('error', ignore);
        resolve({ report, socket: secure });
      }
    };
    const timer = setTimeout(() => fail('TLS_TIMEOUT', silence(timeout, socket)), timeout);
    secure.once('secureConnect', onSecure);
    secure.once('error', onError);
  });
}

type Blank = Omit<TlsReport, 'verdict' | 'reason' | 'code' | 'duration' | 'warnings'>;

/** The verdict on a completed handshake: verification, expiry, speed. */
function judge(
  secure: TLSSocket,
  blank: Blank,
  host: string,
  o: ResolvedProbeOptions,
  duration: number,
): TlsReport {
  const leaf = secure.getPeerCertificate(true);
  const chain = chainOf(leaf);
  const validTo = chain[0]?.validTo;
  // Whole days, towards zero: "expired 1 day ago" from 25 hours ago, "expires in 4 days" at 4.9.
  const daysUntilExpiry = validTo ? daysUntil(Date.parse(validTo)) : null;
  // Node sets the code (`CERT_HAS_EXPIRED`) here, typed as an Error.
  const rawError = secure.authorizationError as unknown;
  const verifyError = secure.authorized ? null : String((rawError as { code?: unknown })?.code ?? rawError);
  const cipher = secure.getCipher();
  const details: Blank = {
    ...blank,
    protocol: secure.getProtocol() ?? null,
    cipher: cipher?.standardName ?? cipher?.name ?? null,
    alpn: secure.alpnProtocol || null,
    authorized: secure.authorized,
    verifyError,
    chain,
    daysUntilExpiry,
  };
  const summary = `${details.protocol}, ${secure.authorized ? 'verified' : 'NOT verified'}`;

  const warnings: string[] = [];
  let code: ErrorCode | null = null;
  if (verifyError !== null) {
    const c = classify({ code: verifyError });
    code = c.layer === 'tls' ? c.code : 'TLS_UNTRUSTED';
    const why = `${verifyReason(code, chain[0], daysUntilExpiry, host, o)} (${verifyError})`;
    if (!o.insecure) return { verdict: 'failed', reason: why, code, duration, warnings, ...details };
    warnings.push(`${why}; ignored because of --insecure`);
  } else if (daysUntilExpiry !== null && daysUntilExpiry < EXPIRY_WARNING_DAYS) {
    warnings.push(`the certificate expires ${inDays(daysUntilExpiry)}, on ${day(validTo)}`);
  }
  const slow = slowWarning('the handshake', duration, o.timeouts.tls);
  if (slow !== undefined) warnings.push(slow);
  const expires = daysUntilExpiry === null ? '' : `, expires ${inDays(daysUntilExpiry)}`;
  return {
    verdict: okOrSuspect(warnings),
    reason: warnings[0] ?? `${summary}${expires}`,
    code,
    duration,
    warnings,
    ...details,
  };
}

/**
 * The reason of a handshake timeout, with what went out when it was more than one packet and
 * nothing came back: the shape of an MTU blackhole (the path layer tells whether it is one).
 */
function silence(timeout: number, socket: Socket): string {
  const sent = socket.bytesWritten;
  return sent > MTU_HINT_BYTES && socket.bytesRead === 0
    ? `no handshake within ${timeout} ms: a ${sent}-byte ClientHello got nothing back (more than one packet; see path)`
    : `no handshake within ${timeout} ms`;
}

function verifyReason(
  code: ErrorCode,
  leaf: CertificateReport | undefined,
  days: number | null,
  host: string,
  o: ResolvedProbeOptions,
): string {
  switch (code) {
    case 'TLS_CERT_EXPIRED':
      return days === null
        ? 'the certificate has expired'
        : `the certificate expired ${daysAgo(-days)}, on ${day(leaf?.validTo)}`;
    case 'TLS_CERT_NOT_YET_VALID':
      return `the certificate is not valid before ${day(leaf?.validFrom)} (check both clocks)`;
    case 'TLS_HOSTNAME_MISMATCH':
      return `the certificate does not cover ${host} (it covers ${leaf?.subjectAltName ?? leaf?.subject})`;
    case 'TLS_UNTRUSTED':
      return `the chain does not lead to a trusted CA${o.ca === undefined ? ' (--ca <file> trusts a private CA)' : ''}`;
    default:
      return ERROR_CODES[code].summary;
  }
}

/** The chain as the server presented it (and as far as it could be built), leaf first. */
function chainOf(leaf: DetailedPeerCertificate): CertificateReport[] {
  const chain: CertificateReport[] = [];
  const seen = new Set<object>();
  let cert: DetailedPeerCertificate | undefined = leaf;
  while (cert !== undefined && cert !== null && Object.keys(cert).length > 0 && !seen.has(cert)) {
    if (chain.length >= MAX_CHAIN) break;
    seen.add(cert);
    chain.push({
      subject: nameOf(cert.subject),
      issuer: nameOf(cert.issuer),
      validFrom: isoDate(cert.valid_from),
      validTo: isoDate(cert.valid_to),
      subjectAltName: cert.subjectaltname ?? null,
      fingerprint256: cert.fingerprint256 ?? null,
    });
    cert = cert.issuerCertificate;
  }
  return chain;
}

/** `CN=name` when there is a common name, else the whole distinguished name. */
function nameOf(certName: object | undefined): string {
  if (certName === undefined || certName === null) return '';
  const name = certName as Record<string, string | string[] | undefined>;
  const cn = name.CN;
  if (cn !== undefined) return `CN=${Array.isArray(cn) ? cn.join('+') : cn}`;
  return Object.entries(name)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : v}`)
    .join(', ');
}

function isoDate(text: string | undefined): string | null {
  if (text === undefined) return null;
  const t = Date.parse(text);
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

/** `2026-11-28 03:14 UTC` from an ISO date. */
function day(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : 'an unknown date';
}

function inDays(days: number): string {
  return days <= 0 ? 'within a day' : `in ${days} day${days === 1 ? '' : 's'}`;
}

function daysAgo(days: number): string {
  return days <= 0 ? 'less than a day ago' : `${days} day${days === 1 ? '' : 's'} ago`;
}

function ignore(): void {}

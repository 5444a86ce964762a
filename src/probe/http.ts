/**
 * The probe's HTTP layer: one request on the very connection the DNS, TCP and TLS layers opened
 * (so its time to first byte is the server's, not a new handshake's) — `curl -I`. A 5xx or 429 is
 * `suspect`: the network path works and the service answered, but it is not serving.
 */

import { STATUS_CODES } from 'node:http';
import { isIP, type Socket } from 'node:net';
import tls from 'node:tls';
import { Client } from 'undici';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import { redactHeaderValue, redactText } from '../errors/redact.ts';
import { isHttpsPortAnswer, SCHEME_HINTS, type SchemeHint, schemeHintOf } from '../errors/scheme-hint.ts';
import { type ResolvedProbeOptions, withCallerHeaders } from './options.ts';
import {
  type HttpHeadersReport,
  type HttpReport,
  ms,
  okOrSuspect,
  oneLine,
  type ProbeHeader,
  slowWarning,
} from './report.ts';

/** At most this much of the body is read (and discarded) before the connection is closed. */
const BODY_LIMIT = 64 * 1024;
const NO_HEADERS: HttpHeadersReport = Object.freeze({
  server: null,
  retryAfter: null,
  location: null,
  contentType: null,
});

/** The probe's own request headers; the caller's replace them when they name them. */
const OWN_HEADERS: readonly (readonly [string, string])[] = [
  ['user-agent', 'bulwark-probe'],
  ['accept', '*/*'],
];
/** At most this much of a 400's body is read to look for an HTTPS server's "use https" answer. */
const HINT_BODY_LIMIT = 4 * 1024;

/** The caller's headers as the report shows them: secret values redacted. */
export function shownHeaders(o: ResolvedProbeOptions): ProbeHeader[] {
  return o.headers.map(([name, value]) => ({ name, value: redactHeaderValue(name, value) }));
}

/** Sends one request over `socket` (which it takes over and closes). Never rejects. */
export async function probeHttp(socket: Socket, url: URL, o: ResolvedProbeOptions): Promise<HttpReport> {
  const started = performance.now();
  const timeout = o.timeouts.http;
  const { remoteAddress, remotePort } = socket;
  const base = {
    method: o.method,
    path: url.pathname,
    status: null,
    statusText: null,
    ttfb: null,
    headers: NO_HEADERS,
    retryAfterSeconds: null,
    requestHeaders: shownHeaders(o),
    hint: null,
  };
  let handed = false;
  const client = new Client(url.origin, {
    // The connection is already open; undici must not make another one (a second call means the
    // first closed before the request could be written).
    connect: (_params, callback) => {
      const again = handed;
      handed = true;
      process.nextTick(() => {
        if (again) callback(new BulwarkError({ layer: 'tcp', code: 'TCP_CLOSED' }), null);
        else callback(null, socket);
      });
    },
    headersTimeout: timeout,
    bodyTimeout: timeout,
    pipelining: 1,
  });
  const abort = new AbortController();
  // undici's own timers are coarse; this one makes the timeout exact.
  const timer = setTimeout(
    () => abort.abort(new BulwarkError({ layer: 'http', code: 'HTTP_HEADERS_TIMEOUT' })),
    timeout,
  );
  try {
    const path = url.pathname + url.search;
    const res = await client.request({
      path,
      method: o.method as 'GET',
      headers: withCallerHeaders(OWN_HEADERS, o.headers).flat(),
      signal: abort.signal,
    });
    const ttfb = ms(performance.now() - started);
    clearTimeout(timer);
    // A 400 to plain HTTP may be an HTTPS server saying so in its body (nginx, Go).
    const body =
      res.statusCode === 400 && url.protocol === 'http:' ? await head(res.body, HINT_BODY_LIMIT) : '';
    await res.body.dump({ limit: BODY_LIMIT }).catch(ignore);
    const hint = isHttpsPortAnswer(res.statusCode, body) ? 'use-https' : null;
    return judge(res.statusCode, res.headers, ttfb, { ...base, hint }, timeout);
  } catch (err) {
    const c = classify(err);
    const code: ErrorCode =
      c.layer === 'http' || c.layer === 'tcp' || c.layer === 'tls' ? c.code : 'HTTP_PROTOCOL';
    const detail =
      code === 'HTTP_HEADERS_TIMEOUT' ? `no response headers within ${timeout} ms` : message(err);
    const reason = `${ERROR_CODES[code].summary}: ${detail}`;
    const hint = await plainToTls(url, code, err, remoteAddress, remotePort, o.timeouts.tls);
    return {
      verdict: 'failed',
      reason: hint === null ? reason : `${SCHEME_HINTS[hint]} (${reason})`,
      code,
      duration: ms(performance.now() - started),
      warnings: [],
      ...base,
      hint,
    };
  } finally {
    clearTimeout(timer);
    await client.destroy().catch(ignore);
  }
}

function judge(
  status: number,
  raw: Record<string, string | string[] | undefined>,
  ttfb: number,
  base: Omit<HttpReport, 'verdict' | 'reason' | 'code' | 'duration' | 'warnings'>,
  timeout: number,
): HttpReport {
  const headers: HttpHeadersReport = {
    server: header(raw, 'server'),
    retryAfter: header(raw, 'retry-after'),
    location: header(raw, 'location'),
    contentType: header(raw, 'content-type'),
  };
  const retryAfterSeconds = parseRetryAfter(headers.retryAfter);
  const statusText = STATUS_CODES[status] ?? null;
  const line = `${status}${statusText === null ? '' : ` ${statusText}`}`;
  const warnings: string[] = [];
  let code: ErrorCode | null = null;
  let note = '';
  if (status >= 500 || status === 429) {
    code = 'HTTP_STATUS';
    const wait = retryAfterSeconds === null ? '' : `, Retry-After ${retryAfterSeconds} s`;
    warnings.push(
      status === 429
        ? `${line}: the service is rate limiting${wait}`
        : `${line}: the service answered but is not serving${wait}`,
    );
  } else if (status >= 400) {
    note = ': the service answered; a 4xx is about the request (URL, method, credentials), not the network';
  } else if (status >= 300) {
    note = headers.location === null ? '' : ` → ${redactText(headers.location)} (not followed)`;
  }
  if (base.hint !== null) warnings.push(`${line}: ${SCHEME_HINTS[base.hint]}`);
  const slow = slowWarning('the response', ttfb, timeout);
  if (slow !== undefined) warnings.push(slow);
  return {
    verdict: okOrSuspect(warnings),
    reason: warnings[0] ?? `${line}${note}`,
    code,
    duration: ttfb,
    warnings,
    ...base,
    status,
    statusText,
    ttfb,
    headers,
    retryAfterSeconds,
  };
}

function header(raw: Record<string, string | string[] | undefined>, name: string): string | null {
  const value = raw[name];
  if (value === undefined) return null;
  return oneLine(Array.isArray(value) ? value.join(', ') : value);
}

/** `Retry-After` in whole seconds from delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, now = Date.now()): number | null {
  if (value === null) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/**
 * `'use-https'` when a plain-HTTP request failed because the port speaks TLS: the answer was a TLS
 * record, or the server closed without a response and a TLS handshake with it then completes (or
 * draws a TLS alert). `null` otherwise, and for `https:` URLs.
 */
async function plainToTls(
  url: URL,
  code: ErrorCode,
  err: unknown,
  address: string | undefined,
  port: number | undefined,
  timeout: number,
): Promise<SchemeHint | null> {
  if (url.protocol !== 'http:' || address === undefined || port === undefined) return null;
  // A TLS record where the response should be says it by itself.
  if (code === 'HTTP_PROTOCOL') return schemeHintOf('http:', port, code, err, true) ?? null;
  // A close says nothing by itself (the client trusts 443/8443 only): on any port, the probe
  // asks the port with a handshake of its own.
  if (code !== 'TCP_CLOSED' && code !== 'TCP_RESET') return null;
  return (await speaksTls(address, port, url.hostname, timeout)) ? 'use-https' : null;
}

/** Whether `address:port` answers a TLS handshake in TLS (completing it, or with an alert). */
function speaksTls(address: string, port: number, host: string, timeout: number): Promise<boolean> {
  return new Promise((resolve) => {
    const bare = host.replace(/^\[|\]$/g, ''); // an IPv6 literal's brackets
    const servername = isIP(bare) === 0 ? bare : undefined;
    const socket = tls.connect({
      host: address,
      port,
      ...(servername === undefined ? {} : { servername }),
      rejectUnauthorized: false,
      ALPNProtocols: ['http/1.1'],
    });
    const done = (answer: boolean): void => {
      clearTimeout(timer);
      socket.removeAllListeners('secureConnect');
      socket.on('error', ignore);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), Math.min(timeout, 2_000));
    socket.once('secureConnect', () => done(true));
    // An alert is TLS speaking (ERR_SSL_TLSV1_ALERT_..., ERR_SSL_SSLV3_ALERT_...); a reset, a close
    // or a plain-text answer is not.
    socket.once('error', (e: NodeJS.ErrnoException) =>
      done(typeof e.code === 'string' && /_ALERT_/.test(e.code)),
    );
  });
}

/** Up to `limit` bytes of a body, as latin-1 text (a failure reads as what arrived). */
async function head(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) break;
    }
  } catch {
    // What arrived is enough to judge.
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('latin1');
}

function message(err: unknown): string {
  const m = (err as { message?: unknown } | null)?.message;
  return oneLine(redactText(typeof m === 'string' ? m : String(err)));
}

function ignore(): void {}

/**
 * The probe's HTTP layer: one request on the very connection the DNS, TCP and TLS layers opened
 * (so its time to first byte is the server's, not a new handshake's) — `curl -I`. A 5xx or 429 is
 * `suspect`: the network path works and the service answered, but it is not serving.
 */

import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { Client } from 'undici';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import { redactText } from '../errors/redact.ts';
import type { ResolvedProbeOptions } from './options.ts';
import { type HttpHeadersReport, type HttpReport, ms, okOrSuspect, oneLine, slowWarning } from './report.ts';

/** At most this much of the body is read (and discarded) before the connection is closed. */
const BODY_LIMIT = 64 * 1024;
const NO_HEADERS: HttpHeadersReport = Object.freeze({
  server: null,
  retryAfter: null,
  location: null,
  contentType: null,
});

/** Sends one request over `socket` (which it takes over and closes). Never rejects. */
export async function probeHttp(socket: Socket, url: URL, o: ResolvedProbeOptions): Promise<HttpReport> {
  const started = performance.now();
  const timeout = o.timeouts.http;
  const base = {
    method: o.method,
    path: url.pathname,
    status: null,
    statusText: null,
    ttfb: null,
    headers: NO_HEADERS,
    retryAfterSeconds: null,
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
      headers: { 'user-agent': 'bulwark-probe', accept: '*/*' },
      signal: abort.signal,
    });
    const ttfb = ms(performance.now() - started);
    clearTimeout(timer);
    await res.body.dump({ limit: BODY_LIMIT }).catch(ignore);
    return judge(res.statusCode, res.headers, ttfb, base, timeout);
  } catch (err) {
    const c = classify(err);
    const code: ErrorCode =
      c.layer === 'http' || c.layer === 'tcp' || c.layer === 'tls' ? c.code : 'HTTP_PROTOCOL';
    const detail =
      code === 'HTTP_HEADERS_TIMEOUT' ? `no response headers within ${timeout} ms` : message(err);
    return {
      verdict: 'failed',
      reason: `${ERROR_CODES[code].summary}: ${detail}`,
      code,
      duration: ms(performance.now() - started),
      warnings: [],
      ...base,
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

function message(err: unknown): string {
  const m = (err as { message?: unknown } | null)?.message;
  return oneLine(redactText(typeof m === 'string' ? m : String(err)));
}

function ignore(): void {}

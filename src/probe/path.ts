/**
 * The probe's path layer — the triage flow's "routing and packet loss", the layer that makes
 * incidents feel random — on connections of its own, after the TLS and HTTP layers: connect
 * samples per address for the connect-time distribution and the SYN loss they show
 * (path-connects.ts), and the small-vs-large exchange that finds an MTU blackhole
 * (path-exchange.ts). This file runs both within the window and gives the verdict.
 */
import { MTU_HINT_BYTES } from '../errors/bulwark-error.ts';
import type { ErrorCode } from '../errors/codes.ts';
import type { ResolvedProbeOptions } from './options.ts';
import { sampleConnects } from './path-connects.ts';
import { EXCHANGE_SIZES, exchanges } from './path-exchange.ts';
import {
  ms,
  okOrSuspect,
  type PathConnectReport,
  type PathExchangeReport,
  type PathReport,
  skippedBase,
  type TcpReport,
  type TlsReport,
} from './report.ts';
import { hostPort } from './tcp.ts';

/** Fewer SYNs than this give a rough loss estimate (±2 points at 10 % needs ~200). */
const CLOSE_ESTIMATE = 200;

/** What the path layer measured; judgePath() weighs it with the tls layer's outcome. */
export interface PathMeasurement {
  readonly duration: number;
  readonly connects: readonly PathConnectReport[];
  readonly address: string;
  readonly exchanges: readonly PathExchangeReport[];
}

/**
 * Samples connects to every address the tcp layer reached and runs the exchanges against the one
 * it chose, all within `timeouts.path`. Never rejects.
 */
export async function measurePath(
  tcp: TcpReport & { readonly address: string },
  url: URL,
  hostname: string,
  literal: boolean,
  o: ResolvedProbeOptions,
): Promise<PathMeasurement> {
  const servername = literal ? null : hostname;
  const started = performance.now();
  const deadline = started + o.timeouts.path;
  const reached = tcp.attempts.filter((a) => a.verdict === 'ok');
  const chosen = reached.find((a) => a.address === tcp.address)!;
  const [connects, exchanged] = await Promise.all([
    o.samples === 0
      ? []
      : sampleConnects(
          reached.map((a) => ({ address: a.address, family: a.family, handshake: a.duration })),
          tcp.port,
          o.samples,
          deadline,
        ),
    exchanges(
      {
        address: chosen.address,
        family: chosen.family,
        port: tcp.port,
        tls:
          url.protocol === 'https:'
            ? { host: hostname, servername, ca: o.ca, insecure: o.insecure }
            : undefined,
        host: url.host,
        path: url.pathname + url.search,
        method: o.method,
        headers: o.headers,
      },
      deadline,
    ),
  ]);
  return { duration: ms(performance.now() - started), connects, address: tcp.address, exchanges: exchanged };
}

/** The verdict on a measurement; `tls` is the tls layer's report (its ClientHello is an exchange too). */
export function judgePath(m: PathMeasurement, tls: TlsReport, port: number, window: number): PathReport {
  const failures: { code: ErrorCode; reason: string }[] = [];
  const warnings: string[] = [];

  for (const c of m.connects) {
    const where = hostPort(c.address, port);
    const pending = c.samples - c.connected - c.failed;
    if (c.connected === 0 && pending > 0) {
      failures.push({
        code: 'TCP_TIMEOUT',
        reason: `none of ${c.samples} connects to ${where} completed within ${window} ms (the tcp layer's did): packets are being lost on the path`,
      });
    } else if (c.retransmitted > 0 || pending > 0) {
      const late = pending > 0 ? `, ${pending} not at all within ${window} ms` : '';
      const closer = c.synsSent < CLOSE_ESTIMATE ? `; --samples ${CLOSE_ESTIMATE} measures it closer` : '';
      warnings.push(
        `${c.retransmitted} of ${c.samples} connects to ${where} needed a SYN retransmission (+1 s or more)${late}: about ${percent(c.estimatedLoss)} of SYNs lost on the path (${c.synsLost} of ${c.synsSent}${closer})`,
      );
    }
    if (c.failed > 0) warnings.push(`${c.failed} of ${c.samples} connects to ${where} were refused or reset`);
  }

  const mtu = blackhole(m.exchanges, tls);
  if (mtu !== undefined) failures.push(mtu);
  const small = m.exchanges[0];
  if (mtu === undefined && small?.outcome === 'silent') {
    warnings.push(
      `even the unpadded ${size(small.bytes)} request got no answer (${small.error}): not a question of size; see http`,
    );
  }

  const estimatedLoss = overallLoss(m.connects);
  const base = {
    duration: m.duration,
    window,
    connects: m.connects,
    estimatedLoss,
    address: m.address,
    exchanges: m.exchanges,
    brokeAt: mtu?.brokeAt ?? null,
  };
  const first = failures[0];
  if (first !== undefined) {
    return {
      verdict: 'failed',
      reason: first.reason,
      code: first.code,
      warnings: [...failures.slice(1).map((f) => f.reason), ...warnings],
      ...base,
    };
  }
  return {
    verdict: okOrSuspect(warnings),
    reason: warnings[0] ?? healthy(m, port),
    code: null,
    warnings,
    ...base,
  };
}

/** The path layer when it did not run. */
export function skippedPath(reason: string, window: number): PathReport {
  return {
    ...skippedBase(reason),
    window,
    connects: [],
    estimatedLoss: null,
    address: null,
    exchanges: [],
    brokeAt: null,
  };
}

interface Point {
  readonly bytes: number;
  readonly passed: boolean;
  readonly what: string;
}

/**
 * "Large exchanges stall, small ones pass": a size from which every exchange (the tls layer's
 * ClientHello included, when it got nothing back) was silent while every smaller one got an
 * answer. A pattern with holes (a large one answered above a silent one) is not a size limit.
 */
function blackhole(
  exchanged: readonly PathExchangeReport[],
  tls: TlsReport,
): { code: ErrorCode; reason: string; brokeAt: number } | undefined {
  const points: Point[] = exchanged
    .filter((e) => e.outcome !== 'failed')
    .map((e) => ({
      bytes: e.bytes,
      passed: e.outcome === 'answered' || e.outcome === 'closed',
      what: `${size(e.bytes)} request`,
    }));
  const hello =
    tls.code === 'TLS_TIMEOUT' && (tls.bytesSent ?? 0) > MTU_HINT_BYTES && tls.bytesReceived === 0
      ? tls.bytesSent!
      : undefined;
  if (hello !== undefined)
    points.push({ bytes: hello, passed: false, what: `${hello}-byte ClientHello (tls)` });
  points.sort((a, b) => a.bytes - b.bytes);
  const broke = points.findIndex((p) => !p.passed);
  if (broke <= 0 || points.slice(broke).some((p) => p.passed)) return undefined;
  const passed = points[broke - 1]!;
  const stalled = points.slice(broke);
  const answer = exchanged.find((e) => e.bytes === passed.bytes);
  const took = answer?.duration == null ? '' : ` in ${answer.duration} ms`;
  const largest = Math.max(...EXCHANGE_SIZES);
  const requests = stalled.filter((p) => p.what.endsWith('request'));
  const named = [
    ...(hello === undefined ? [] : [`the ${hello}-byte ClientHello of the tls layer`]),
    ...(requests.length === 0
      ? []
      : [`requests of ${size(requests[0]!.bytes)}${requests.length > 1 ? ` to ${size(largest)}` : ''}`]),
  ].join(' and ');
  return {
    code: requests.length === 0 ? 'TLS_TIMEOUT' : 'HTTP_HEADERS_TIMEOUT',
    brokeAt: stalled[0]!.bytes,
    reason: `large exchanges stall, small ones pass: MTU blackhole suspected — ${named} got no answer, a ${size(passed.bytes)} request was answered${took}`,
  };
}

function healthy(m: PathMeasurement, port: number): string {
  const answered = m.exchanges.filter((e) => e.outcome === 'answered' || e.outcome === 'closed');
  const largest = answered.length === 0 ? undefined : Math.max(...answered.map((e) => e.bytes));
  const exchange =
    largest === undefined
      ? `no request answered (${m.exchanges[0]?.error ?? 'none tried'})`
      : `requests up to ${size(largest)} answered`;
  const connects = m.connects.map(
    (c) => `${c.connected} connects to ${hostPort(c.address, port)}: median ${c.p50} ms, none retransmitted`,
  );
  return [...connects, exchange].filter((s) => s !== '').join('; ');
}

function overallLoss(connects: readonly PathConnectReport[]): number | null {
  let lost = 0;
  let sent = 0;
  for (const c of connects) {
    lost += c.synsLost;
    sent += c.synsSent;
  }
  return sent === 0 ? null : Math.round((lost / sent) * 1000) / 1000;
}

/** `143 B`, `1.4 KB`, `16 KB` (decimal: the sizes are packet arithmetic, not memory). */
export function size(bytes: number): string {
  return bytes < 1000 ? `${bytes} B` : `${Number((bytes / 1000).toFixed(1))} KB`;
}

/** `12.5 %` from a share; `?` when unknown. */
export function percent(share: number | null): string {
  return share === null ? '?' : `${Math.round(share * 1000) / 10} %`;
}

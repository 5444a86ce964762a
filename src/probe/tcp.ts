/**
 * The probe's TCP layer: a handshake with every address DNS returned, in parallel, each under the
 * connect timeout — `nc -vz` per address. Refused and timed-out addresses are told apart (no
 * listener versus a path or a firewall), and one address that fails while another works is the
 * "stale DNS to an old IP" signature, so it makes the layer `suspect`.
 */
import net, { type Socket } from 'node:net';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import { redactText } from '../errors/redact.ts';
import { ms, okOrSuspect, oneLine, slowWarning, type TcpAttemptReport, type TcpReport } from './report.ts';

/** What the TCP layer hands on: its report and the open connection to the chosen address. */
export interface TcpLayerResult {
  readonly report: TcpReport;
  readonly socket: Socket | undefined;
}

/** More addresses than this are not all tried (a name with dozens of records is not the question). */
export const MAX_ADDRESSES = 8;

interface Attempt {
  readonly report: TcpAttemptReport;
  readonly socket: Socket | undefined;
}

/** Connects to each address on `port`. Never rejects; the caller owns the returned socket. */
export async function probeTcp(
  addresses: readonly { readonly address: string; readonly family: 4 | 6 }[],
  port: number,
  timeout: number,
): Promise<TcpLayerResult> {
  const started = performance.now();
  const tried = addresses.slice(0, MAX_ADDRESSES);
  const attempts = await Promise.all(tried.map((a) => connectOne(a.address, a.family, port, timeout)));
  const duration = ms(performance.now() - started);
  const chosen = attempts.find((a) => a.socket !== undefined);
  for (const a of attempts) if (a !== chosen) a.socket?.destroy();
  const reports = attempts.map((a) => a.report);
  const failed = reports.filter((r) => r.verdict === 'failed');

  if (chosen === undefined) {
    const first = failed[0];
    const code: ErrorCode = first?.code ?? 'TCP_UNREACHABLE';
    const where = reports.length === 1 ? hostPort(first!.address, port) : `all ${reports.length} addresses`;
    return {
      report: {
        verdict: 'failed',
        reason: `${where}: ${ERROR_CODES[code].summary}`,
        code,
        duration,
        warnings: [],
        port,
        address: null,
        attempts: reports,
      },
      socket: undefined,
    };
  }

  const warnings: string[] = [];
  const accepted = reports.length - failed.length;
  if (failed.length > 0) {
    const refused = failed.map((f) => `${hostPort(f.address, port)} ${f.code}`).join(', ');
    warnings.push(`${accepted} of ${reports.length} addresses accepted the connection; ${refused}`);
  }
  if (addresses.length > tried.length) {
    warnings.push(`only the first ${tried.length} of ${addresses.length} addresses were tried`);
  }
  for (const r of reports) {
    if (r.verdict !== 'ok') continue;
    const slow = slowWarning(`the handshake with ${r.address}`, r.duration, timeout);
    if (slow !== undefined) warnings.push(slow);
  }
  const reason =
    warnings[0] ??
    (reports.length === 1
      ? `${hostPort(chosen.report.address, port)} accepted the connection`
      : `all ${reports.length} addresses accepted the connection; using ${chosen.report.address}`);
  return {
    report: {
      verdict: okOrSuspect(warnings),
      reason,
      code: failed[0]?.code ?? null,
      duration,
      warnings,
      port,
      address: chosen.report.address,
      attempts: reports,
    },
    socket: chosen.socket,
  };
}

function connectOne(address: string, family: 4 | 6, port: number, timeout: number): Promise<Attempt> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect({ host: address, port, family, noDelay: true });
    const finish = (code: ErrorCode | null, error: string | null): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      const report: TcpAttemptReport = {
        address,
        family,
        verdict: code === null ? 'ok' : 'failed',
        duration: ms(performance.now() - started),
        code,
        error,
      };
      if (code !== null) socket.destroy();
      // Until a later layer takes the socket over, a reset must not become an uncaught error.
      else socket.on('error', ignore);
      resolve({ report, socket: code === null ? socket : undefined });
    };
    const onConnect = (): void => finish(null, null);
    const onError = (err: Error): void => {
      const c = classify(err);
      finish(c.layer === 'tcp' ? c.code : 'TCP_UNREACHABLE', oneLine(redactText(err.message)));
    };
    const timer = setTimeout(() => finish('TCP_TIMEOUT', `no handshake within ${timeout} ms`), timeout);
    socket.once('connect', onConnect);
    socket.once('error', onError);
  });
}

function ignore(): void {}

/** `127.0.0.1:443` or `[::1]:443`. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The probe report for a terminal: one line per layer (verdict, time, code, reason) in aligned
 * columns, the evidence indented under it, and a last line naming the first layer that failed.
 * Colour only when asked (the CLI asks when stdout is a TTY and `NO_COLOR` is unset).
 */

import { percent, size } from './path.ts';
import {
  type DnsReport,
  type HttpReport,
  type LayerReport,
  type PathReport,
  PROBE_LAYERS,
  type ProbeLayer,
  type ProbeReport,
  type TcpReport,
  type TlsReport,
} from './report.ts';
import { hostPort } from './tcp.ts';

/** How to paint a piece of text. */
type Paint = (text: string) => string;

interface Palette {
  readonly ok: Paint;
  readonly suspect: Paint;
  readonly failed: Paint;
  readonly skipped: Paint;
  readonly dim: Paint;
  readonly bold: Paint;
}

const sgr =
  (open: number, close: number): Paint =>
  (text) =>
    text === '' ? text : `\x1b[${open}m${text}\x1b[${close}m`;
const plain: Paint = (text) => text;
const COLOURS: Palette = {
  ok: sgr(32, 39),
  suspect: sgr(33, 39),
  failed: sgr(31, 39),
  skipped: sgr(2, 22),
  dim: sgr(2, 22),
  bold: sgr(1, 22),
};
const NO_COLOURS: Palette = {
  ok: plain,
  suspect: plain,
  failed: plain,
  skipped: plain,
  dim: plain,
  bold: plain,
};

/** A table cell: plain text, or text with the paint applied after padding. */
type Cell = string | { readonly text: string; readonly paint: Paint };

/** Renders `report` for a terminal; `colour` adds ANSI colours. Ends with a newline. */
export function renderProbe(report: ProbeReport, colour = false): string {
  const p = colour ? COLOURS : NO_COLOURS;
  const lines: string[] = [p.bold(`bulwark probe ${report.url}`), ''];
  const heads: Cell[][] = [];
  const bodies: string[][] = [];
  const withCodes = PROBE_LAYERS.some((l) => report.layers[l].code !== null);
  for (const name of PROBE_LAYERS) {
    const layer = report.layers[name];
    const paint = p[layer.verdict];
    heads.push([
      name,
      { text: layer.verdict, paint },
      layer.duration === null ? '' : duration(layer.duration),
      ...(withCodes ? [{ text: layer.code ?? '', paint }] : []),
      layer.verdict === 'skipped' ? { text: layer.reason, paint: p.dim } : layer.reason,
    ]);
    bodies.push([...details(name, report), ...extraWarnings(layer, p)]);
  }
  // Every layer's head line shares one set of columns; its details are indented under the reason.
  const headLines = table(heads, [false, false, true]);
  const indent = ' '.repeat(headIndent(heads));
  headLines.forEach((line, i) => {
    lines.push(line);
    for (const detail of bodies[i]!) lines.push(`${indent}${p.dim(detail)}`);
  });
  lines.push('', summary(report, p));
  return `${lines.join('\n')}\n`;
}

/** The last line: the first layer that failed, or healthy (with the suspect layers named). */
export function summary(report: ProbeReport, p: Palette = NO_COLOURS): string {
  if (report.firstFailed !== null) {
    const layer = report.layers[report.firstFailed];
    const code = layer.code === null ? '' : ` ${layer.code}`;
    return p.failed(p.bold(`failed at ${report.firstFailed}:${code} — ${layer.reason}`));
  }
  const suspect = PROBE_LAYERS.filter((l) => report.layers[l].verdict === 'suspect');
  if (suspect.length === 0) return p.ok(p.bold('healthy: no layer failed or looks suspect'));
  const named = suspect.map((l) => `${l} (${report.layers[l].reason})`).join(', ');
  return p.suspect(p.bold(`healthy, with warnings: ${named}`));
}

function details(name: ProbeLayer, report: ProbeReport): string[] {
  switch (name) {
    case 'dns':
      return dnsDetails(report.layers.dns);
    case 'tcp':
      return tcpDetails(report.layers.tcp);
    case 'tls':
      return tlsDetails(report.layers.tls);
    case 'path':
      return pathDetails(report.layers.path, report.layers.tcp.port);
    case 'http':
      return httpDetails(report.layers.http);
  }
}

function dnsDetails(dns: DnsReport): string[] {
  if (dns.sources.length === 0) return [];
  return table(
    dns.sources.map((s) => [
      s.resolver,
      s.verdict === 'ok' ? s.addresses.map((a) => a.address).join(', ') : (s.code ?? 'failed'),
      s.verdict === 'ok' ? ttlText(s.addresses.map((a) => a.ttl)) : (s.error ?? ''),
      duration(s.duration),
    ]),
  );
}

function ttlText(ttls: readonly (number | null)[]): string {
  const known = ttls.filter((t): t is number => t !== null);
  if (known.length === 0) return 'TTL unknown (getaddrinfo reports none)';
  const lo = Math.min(...known);
  const hi = Math.max(...known);
  return lo === hi ? `TTL ${lo} s` : `TTL ${lo}–${hi} s`;
}

function tcpDetails(tcp: TcpReport): string[] {
  if (tcp.attempts.length <= 1 && tcp.verdict !== 'failed') return [];
  return table(
    tcp.attempts.map((a) => [
      hostPort(a.address, tcp.port),
      a.verdict === 'ok' ? 'connected' : (a.code ?? 'failed'),
      duration(a.duration),
      a.error ?? '',
    ]),
  );
}

function tlsDetails(tls: TlsReport): string[] {
  if (tls.verdict === 'skipped' || tls.protocol === null) return [];
  const facts = [
    tls.servername === null ? 'no SNI (IP address)' : `SNI ${tls.servername}`,
    tls.protocol,
    tls.cipher,
    tls.alpn === null ? null : `ALPN ${tls.alpn}`,
    tls.authorized ? 'verified' : `not verified: ${tls.verifyError}`,
  ].filter((f): f is string => f !== null);
  const chain = table(
    tls.chain.map((c, i) => [
      `#${i}`,
      c.subject,
      c.issuer === c.subject ? 'self-signed' : `issuer ${c.issuer}`,
      c.validTo === null ? '' : `until ${c.validTo.slice(0, 10)}`,
      i === 0 ? expiry(tls.daysUntilExpiry) : '',
    ]),
  );
  return [facts.join(' · '), ...chain];
}

function expiry(days: number | null): string {
  if (days === null) return '';
  return days < 0 ? '(expired)' : `(${days} day${days === 1 ? '' : 's'} left)`;
}

/** One line per sampled address (the connect-time distribution), one per exchange. */
function pathDetails(path: PathReport, port: number): string[] {
  if (path.verdict === 'skipped') return [];
  const connects = table(
    path.connects.map((c) => [
      hostPort(c.address, port),
      `${c.connected} of ${c.samples} connected`,
      c.min === null ? '' : `min ${duration(c.min)}`,
      c.p50 === null ? '' : `p50 ${duration(c.p50)}`,
      c.p90 === null ? '' : `p90 ${duration(c.p90)}`,
      c.max === null ? '' : `max ${duration(c.max)}`,
      c.synsLost === 0
        ? 'no SYN lost'
        : `${c.retransmitted} retransmitted, ${c.synsLost} of ${c.synsSent} SYNs lost (${percent(c.estimatedLoss)})`,
    ]),
  );
  const first = path.exchanges[0];
  const last = path.exchanges.at(-1);
  // Every request failed alike (a certificate that failed verification): one line says it.
  if (
    first !== undefined &&
    last !== undefined &&
    path.exchanges.every((e) => e.outcome === 'failed' && e.error === first.error)
  ) {
    return [...connects, `requests ${size(first.bytes)}–${size(last.bytes)}  failed  ${first.error ?? ''}`];
  }
  const exchanges = table(
    path.exchanges.map((e) => [
      'request',
      size(e.bytes),
      e.outcome,
      e.duration === null ? '' : duration(e.duration),
      e.status === null ? (e.error ?? '') : String(e.status),
    ]),
    [false, true],
  );
  return [...connects, ...exchanges];
}

function httpDetails(http: HttpReport): string[] {
  if (http.verdict === 'skipped') return [];
  const facts = [`${http.method} ${http.path}`];
  if (http.ttfb !== null) facts.push(`TTFB ${duration(http.ttfb)}`);
  if (http.headers.server !== null) facts.push(`Server: ${http.headers.server}`);
  if (http.headers.retryAfter !== null) facts.push(`Retry-After: ${http.headers.retryAfter}`);
  if (http.headers.location !== null) facts.push(`Location: ${http.headers.location}`);
  const lines = [facts.join(' · ')];
  // The caller's headers (--header), secret values already redacted in the report.
  if (http.requestHeaders.length > 0) {
    lines.push(`sent ${http.requestHeaders.map((h) => `${h.name}: ${h.value}`).join(' · ')}`);
  }
  return lines;
}

/** Warnings beyond the first (which is the layer's reason). */
function extraWarnings(layer: LayerReport, p: Palette): string[] {
  return layer.warnings.filter((w) => w !== layer.reason).map((w) => p.suspect(`! ${w}`));
}

/** `0.4 ms`, `12.5 ms`, `143 ms`, `2.50 s`. */
export function duration(value: number): string {
  if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
  return value >= 100 ? `${Math.round(value)} ms` : `${value.toFixed(1)} ms`;
}

/** Pads every column but the last to its widest cell; `right` right-aligns a column. */
function table(rows: readonly (readonly Cell[])[], right: readonly boolean[] = []): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, text(cell).length);
    });
  }
  return rows.map((row) =>
    row
      .map((cell, i) => {
        const t = text(cell);
        const last = i === row.length - 1;
        const padded = last ? t : right[i] ? t.padStart(widths[i]!) : t.padEnd(widths[i]!);
        return typeof cell === 'string' ? padded : cell.paint(padded);
      })
      .join('  ')
      .trimEnd(),
  );
}

/** Where the reason column starts in the head lines. */
function headIndent(rows: readonly (readonly Cell[])[]): number {
  let width = 0;
  const columns = rows[0]?.length ?? 1;
  for (let i = 0; i < columns - 1; i++) width += Math.max(...rows.map((r) => text(r[i]!).length)) + 2;
  return width;
}

function text(cell: Cell): string {
  return typeof cell === 'string' ? cell : cell.text;
}

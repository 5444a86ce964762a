/**
 * A hand-written SVG line chart (no dependency): one polyline per series, axes with round ticks,
 * shaded bands (fault windows), horizontal reference lines (capacity) and a legend.
 */

/** One line of the chart. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
  /** Drawn thicker (the series the chart is about). */
  readonly emphasis?: boolean;
}

/** A chart. */
export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** Shaded x ranges with a label (fault windows). */
  readonly bands?: readonly { readonly from: number; readonly to: number; readonly label: string }[];
  /** Dashed horizontal lines with a label. */
  readonly rules?: readonly { readonly y: number; readonly label: string }[];
  /** Clip the y axis at this value (values above are drawn at the top edge). */
  readonly yMax?: number;
  readonly logX?: boolean;
  readonly width?: number;
  readonly height?: number;
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
  '#393b79',
  '#000000',
];

/** Renders `chart` as a standalone SVG document. */
export function lineChart(chart: Chart): string {
  const W = chart.width ?? 900;
  const H = chart.height ?? 420;
  const legendW = 230;
  const m = { left: 60, right: legendW + 20, top: 36, bottom: 46 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const lx = (x: number): number => (chart.logX ? Math.log10(x) : x);
  const xs = chart.series.flatMap((s) => s.points.map((p) => lx(p[0])));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = Math.min(...xs, ...(chart.bands ?? []).map((b) => lx(b.from)));
  const x1 = Math.max(...xs, ...(chart.bands ?? []).map((b) => lx(b.to)));
  const yTop = chart.yMax ?? niceCeil(Math.max(...ys, ...(chart.rules ?? []).map((r) => r.y), 1e-9) * 1.05);
  const yMax = Math.min(yTop, niceCeil(Math.max(...ys, ...(chart.rules ?? []).map((r) => r.y)) * 1.05));
  const fx = (x: number): number => m.left + ((lx(x) - x0) / (x1 - x0 || 1)) * pw;
  const fy = (y: number): number => m.top + ph - (Math.min(y, yMax) / (yMax || 1)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="20" font-size="14" font-weight="600">${esc(chart.title)}</text>`,
  );
  for (const b of chart.bands ?? []) {
    const a = fx(b.from);
    const w = fx(b.to) - a;
    out.push(
      `<rect x="${r(a)}" y="${m.top}" width="${r(w)}" height="${ph}" fill="#f3d9d9" opacity="0.6"/>`,
      `<text x="${r(a + 4)}" y="${m.top + 14}" fill="#a33">${esc(b.label)}</text>`,
    );
  }
  // Axes and ticks.
  for (const t of ticks(0, yMax, 6)) {
    const y = fy(t);
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 6}" y="${r(y + 4)}" text-anchor="end">${tickLabel(t)}</text>`,
    );
  }
  const xTicks = chart.logX ? ticksLog(10 ** x0, 10 ** x1) : ticks(x0, x1, 10);
  for (const t of xTicks) {
    const x = fx(t);
    out.push(
      `<line x1="${r(x)}" x2="${r(x)}" y1="${m.top + ph}" y2="${m.top + ph + 4}" stroke="#333"/>`,
      `<text x="${r(x)}" y="${m.top + ph + 17}" text-anchor="middle">${tickLabel(t)}</text>`,
    );
  }
  out.push(
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#333"/>`,
    `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(chart.yLabel)}</text>`,
  );
  for (const rule of chart.rules ?? []) {
    if (rule.y > yMax) continue;
    const y = fy(rule.y);
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${r(y)}" y2="${r(y)}" stroke="#444" stroke-dasharray="6 4"/>`,
      `<text x="${m.left + pw - 4}" y="${r(y - 4)}" text-anchor="end" fill="#444">${esc(rule.label)}</text>`,
    );
  }
  chart.series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length]!;
    const d = s.points.map((p, k) => `${k === 0 ? 'M' : 'L'}${r(fx(p[0]))} ${r(fy(p[1]))}`).join('');
    out.push(
      `<path d="${d}" fill="none" stroke="${color}" stroke-width="${s.emphasis ? 2.5 : 1.3}" stroke-linejoin="round"${s.emphasis ? '' : ' opacity="0.85"'}/>`,
    );
    const ly = m.top + 8 + i * 18;
    const lx = W - legendW;
    out.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="${s.emphasis ? 3 : 2}"/>`,
      `<text x="${lx + 28}" y="${ly + 4}"${s.emphasis ? ' font-weight="600"' : ''}>${esc(s.name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

function r(n: number): string {
  return (Math.round(n * 10) / 10).toString();
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceStep(range: number, count: number): number {
  const raw = range / Math.max(1, count);
  const p = 10 ** Math.floor(Math.log10(raw || 1));
  const f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

function niceCeil(v: number): number {
  const step = niceStep(v, 5);
  return Math.ceil(v / step) * step;
}

function ticks(from: number, to: number, count: number): number[] {
  const step = niceStep(to - from, count);
  const out: number[] = [];
  for (let t = Math.ceil(from / step) * step; t <= to + step * 1e-9; t += step)
    out.push(Number(t.toPrecision(12)));
  return out;
}

function ticksLog(from: number, to: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(from)); e <= Math.ceil(Math.log10(to)); e++) {
    for (const m of [1, 3]) {
      const t = Number((m * 10 ** e).toPrecision(6));
      if (t >= from * 0.999 && t <= to * 1.001) out.push(t);
    }
  }
  return out;
}

function tickLabel(t: number): string {
  return Math.abs(t) >= 1000 ? `${t / 1000}k` : String(t);
}

/**
 * Output of the benches: an aligned terminal table, a progress line on stderr while a bench runs,
 * and the JSON results file under `bench/results/` with a common envelope (bench, date, machine,
 * command line).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { pathToFileURL } from 'node:url';

/** A column: its header and whether numbers align right (default) or text left. */
export interface Column {
  readonly header: string;
  readonly align?: 'left' | 'right';
}

/** Renders rows of cells (already formatted) under `columns`. */
export function table(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (text: string, i: number): string =>
    columns[i]?.align === 'left' ? text.padEnd(widths[i]!) : text.padStart(widths[i]!);
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => cell(c, i))
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join(
    '\n',
  );
}

/** Formats a number with `digits` decimals ('—' for NaN or undefined). */
export function fmt(n: number | undefined, digits = 2): string {
  if (n === undefined || Number.isNaN(n)) return '—';
  if (!Number.isFinite(n)) return n > 0 ? '∞' : '-∞';
  return n.toFixed(digits);
}

/** A percentage with `digits` decimals. */
export function pct(ratio: number | undefined, digits = 1): string {
  return ratio === undefined || Number.isNaN(ratio) ? '—' : `${(ratio * 100).toFixed(digits)} %`;
}

/**
 * A progress line on stderr: rewritten in place on a terminal, throttled to one line every few
 * seconds otherwise (CI logs), and cleared by `done()`.
 */
export class Progress {
  readonly #tty = process.stderr.isTTY === true;
  readonly #quiet: boolean;
  #last = 0;
  #shown = false;

  constructor(quiet = false) {
    this.#quiet = quiet;
  }

  update(text: string): void {
    if (this.#quiet) return;
    const now = Date.now();
    if (this.#tty) {
      if (now - this.#last < 100) return;
      this.#last = now;
      const cols = process.stderr.columns ?? 100;
      process.stderr.write(`\r\x1b[2K${text.slice(0, cols - 1)}`);
      this.#shown = true;
    } else if (now - this.#last >= 5_000) {
      this.#last = now;
      process.stderr.write(`… ${text}\n`);
    }
  }

  done(): void {
    if (this.#tty && this.#shown) process.stderr.write('\r\x1b[2K');
    this.#shown = false;
  }
}

/** The machine and run, for the results envelope. */
export function machine(): Record<string, unknown> {
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: availableParallelism(),
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

/**
 * `bench/results/` as a URL (created on first use), or `BENCH_RESULTS_DIR` when set (the runner's
 * quick mode writes to `bench/results/quick/`, so the committed full results stay as they are).
 */
export function resultsDir(): URL {
  const env = process.env.BENCH_RESULTS_DIR;
  const dir = env
    ? pathToFileURL(env.endsWith('/') ? env : `${env}/`)
    : new URL('../results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes `bench/results/<name>.json` with the common envelope; returns its path. */
export function writeResults(name: string, data: Record<string, unknown>): string {
  const file = new URL(`${name}.json`, resultsDir());
  const body = {
    bench: name,
    date: new Date().toISOString(),
    command: `node ${process.argv.slice(1).map(relative).join(' ')}`,
    ...machine(),
    ...data,
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
  return file.pathname;
}

/** Writes a text file (an SVG chart) under `bench/results/`; returns its path. */
export function writeResultFile(name: string, text: string): string {
  const file = new URL(name, resultsDir());
  writeFileSync(file, text);
  return file.pathname;
}

function relative(arg: string): string {
  const cwd = `${process.cwd()}/`;
  return arg.startsWith(cwd) ? arg.slice(cwd.length) : arg;
}

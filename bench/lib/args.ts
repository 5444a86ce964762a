/**
 * Knobs for the bench scripts: `node:util` parseArgs in strict mode, typed and range-checked, with
 * a usage message. A bad knob prints the message to stderr and exits with code 2 — never a stack
 * trace; `--help` prints it to stdout and exits 0.
 */
import { parseArgs } from 'node:util';

/** One knob. `integer` and `number` are checked against `min`/`max`; `list` is comma-separated. */
export type Knob =
  | {
      readonly type: 'number' | 'integer';
      readonly default: number;
      readonly min?: number;
      readonly max?: number;
      readonly help: string;
    }
  | {
      readonly type: 'string';
      readonly default: string;
      readonly choices?: readonly string[];
      readonly help: string;
    }
  | {
      readonly type: 'list';
      readonly default: readonly string[];
      readonly choices?: readonly string[];
      readonly help: string;
    }
  | { readonly type: 'boolean'; readonly default: boolean; readonly help: string };

/** A bench's knobs by name (kebab-case, as typed on the command line). */
export type Knobs = Readonly<Record<string, Knob>>;

/** The parsed values of `K`. */
export type KnobValues<K extends Knobs> = {
  -readonly [P in keyof K]: K[P]['type'] extends 'number' | 'integer'
    ? number
    : K[P]['type'] extends 'boolean'
      ? boolean
      : K[P]['type'] extends 'list'
        ? string[]
        : string;
};

/** A knob that could not be parsed; its message is one line for the user. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The bench's name, a one-line summary and its knobs. */
export interface Command<K extends Knobs> {
  readonly name: string;
  readonly summary: string;
  readonly knobs: K;
  /** Extra lines for the usage message (examples). */
  readonly examples?: readonly string[];
}

/** The usage message of `cmd`. */
export function usage<K extends Knobs>(cmd: Command<K>): string {
  const lines = [`usage: ${cmd.name} [options]`, '', cmd.summary, '', 'options:'];
  const width = Math.max(...Object.keys(cmd.knobs).map((k) => k.length + 10), 16);
  for (const [name, k] of Object.entries(cmd.knobs)) {
    const arg = k.type === 'boolean' ? `--${name}` : `--${name} <${k.type === 'list' ? 'a,b' : k.type}>`;
    const def =
      k.type === 'list'
        ? k.default.join(',')
        : k.type === 'boolean'
          ? k.default
            ? 'on'
            : 'off'
          : String(k.default);
    const range =
      (k.type === 'number' || k.type === 'integer') && (k.min !== undefined || k.max !== undefined)
        ? ` [${k.min ?? '-∞'}..${k.max ?? '∞'}]`
        : (k.type === 'string' || k.type === 'list') && k.choices
          ? ` {${k.choices.join('|')}}`
          : '';
    lines.push(`  ${arg.padEnd(width)} ${k.help}${range} (default: ${def})`);
  }
  lines.push(`  ${'--help'.padEnd(width)} this message`);
  if (cmd.examples?.length) lines.push('', 'examples:', ...cmd.examples.map((e) => `  ${e}`));
  return lines.join('\n');
}

/** Parses `argv` against `cmd`'s knobs; throws {@link UsageError} (or returns `'help'`). */
export function parseKnobs<K extends Knobs>(
  cmd: Command<K>,
  argv: readonly string[],
): KnobValues<K> | 'help' {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const [name, k] of Object.entries(cmd.knobs)) {
    options[name] = { type: k.type === 'boolean' ? 'boolean' : 'string' };
    if (k.type === 'boolean') options[`no-${name}`] = { type: 'boolean' };
  }
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help === true) return 'help';
  const out: Record<string, unknown> = {};
  for (const [name, k] of Object.entries(cmd.knobs)) {
    const raw = values[name];
    if (k.type === 'boolean') {
      out[name] = values[`no-${name}`] === true ? false : raw === true ? true : k.default;
      continue;
    }
    if (raw === undefined) {
      out[name] = k.type === 'list' ? [...k.default] : k.default;
      continue;
    }
    const text = String(raw).trim();
    if (k.type === 'number' || k.type === 'integer') {
      const n = text === '' ? Number.NaN : Number(text.replace(/_/g, ''));
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number; got '${text}'`);
      if (k.type === 'integer' && !Number.isInteger(n))
        throw new UsageError(`--${name} must be an integer; got '${text}'`);
      if (k.min !== undefined && n < k.min) throw new UsageError(`--${name} must be ≥ ${k.min}; got ${n}`);
      if (k.max !== undefined && n > k.max) throw new UsageError(`--${name} must be ≤ ${k.max}; got ${n}`);
      out[name] = n;
    } else if (k.type === 'list') {
      const items = text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      if (items.length === 0) throw new UsageError(`--${name} must list at least one value`);
      for (const item of items) {
        if (k.choices && !k.choices.includes(item))
          throw new UsageError(`--${name}: unknown '${item}'; expected one of ${k.choices.join(', ')}`);
      }
      out[name] = items;
    } else {
      const { choices } = k as Extract<Knob, { type: 'string' }>;
      if (choices && !choices.includes(text))
        throw new UsageError(`--${name} must be one of ${choices.join(', ')}; got '${text}'`);
      out[name] = text;
    }
  }
  return out as KnobValues<K>;
}

/**
 * Parses the process's arguments. On `--help` prints the usage and exits 0; on a bad knob prints
 * the error and the usage to stderr and exits 2.
 */
export function knobsOrExit<K extends Knobs>(cmd: Command<K>, argv = process.argv.slice(2)): KnobValues<K> {
  let parsed: KnobValues<K> | 'help';
  try {
    parsed = parseKnobs(cmd, argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${cmd.name}: ${err.message}\n\n${usage(cmd)}\n`);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(`${usage(cmd)}\n`);
    process.exit(0);
  }
  return parsed;
}

/** Throws a {@link UsageError} from inside a bench when knobs are valid alone but not together. */
export function usageCheck(ok: boolean, message: string): void {
  if (!ok) throw new UsageError(message);
}

/** Runs a bench's main function; a {@link UsageError} thrown later (a cross-knob check) also exits 2. */
export async function main<K extends Knobs>(cmd: Command<K>, run: (knobs: KnobValues<K>) => Promise<void>) {
  const knobs = knobsOrExit(cmd);
  try {
    await run(knobs);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${cmd.name}: ${err.message}\n\n${usage(cmd)}\n`);
      process.exit(2);
    }
    throw err;
  }
}

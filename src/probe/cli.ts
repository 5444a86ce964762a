/**
 * The `bulwark` command line. `main(argv, io)` runs one command and returns the exit status
 * instead of exiting, so tests run it in-process with captured output; `src/bin/bulwark.ts` is the
 * executable that calls it.
 *
 * Exit status: 0 healthy (suspect layers included, unless `--strict`), 1 a layer failed (or, with
 * `--strict`, is suspect), 2 a usage error. A usage error prints a message and the usage to stderr,
 * never a stack trace.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactText } from '../errors/redact.ts';
import { parseProbeArgs, USAGE, UsageError } from './args.ts';
import { probe } from './probe.ts';
import { renderProbe } from './render.ts';

/** Where the CLI writes and what it reads of its environment. */
export interface CliIo {
  readonly stdout: { write(chunk: string): unknown; readonly isTTY?: boolean };
  readonly stderr: { write(chunk: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The exit statuses of `bulwark`. */
export const EXIT = Object.freeze({
  /** Every layer ok or suspect. */
  healthy: 0,
  /** A layer failed (or, with `--strict`, is suspect); also an unexpected internal error. */
  failed: 1,
  /** The command line is wrong. */
  usage: 2,
} as const);

const TOP_USAGE = `Usage: bulwark <command> [options]

Commands:
  probe <url>   check DNS, TCP, TLS and HTTP in order and say which layer is broken

Run 'bulwark probe --help' for the probe's options.
`;

const defaultIo: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env };

/**
 * Runs `bulwark` with `argv` (the arguments after the executable: `['probe', url, ...flags]`) and
 * resolves with the exit status. Never rejects.
 *
 * @example
 * ```ts
 * process.exitCode = await main(process.argv.slice(2));
 * ```
 */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  try {
    const [command, ...rest] = argv;
    if (command === undefined) return usageError(io, 'missing a command', TOP_USAGE);
    if (command === '-h' || command === '--help' || command === 'help') {
      io.stdout.write(TOP_USAGE);
      return EXIT.healthy;
    }
    if (command !== 'probe') return usageError(io, `unknown command ${JSON.stringify(command)}`, TOP_USAGE);
    return await runProbe(rest, io);
  } catch (err) {
    if (err instanceof UsageError || err instanceof InvalidOptionError)
      return usageError(io, err.message, USAGE);
    const message = err instanceof Error ? err.message : String(err);
    io.stderr.write(`bulwark: internal error: ${redactText(message)}\n`);
    return EXIT.failed;
  }
}

async function runProbe(args: readonly string[], io: CliIo): Promise<number> {
  const command = await parseProbeArgs(args);
  if (command.kind === 'help') {
    io.stdout.write(USAGE);
    return EXIT.healthy;
  }
  const report = await probe(command.url, command.options);
  if (command.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout.write(renderProbe(report, useColour(io)));
  if (report.verdict === 'failed') return EXIT.failed;
  return report.verdict === 'suspect' && command.strict ? EXIT.failed : EXIT.healthy;
}

/** Colour when stdout is a terminal and `NO_COLOR` is unset or empty (https://no-color.org). */
function useColour(io: CliIo): boolean {
  const noColour = io.env.NO_COLOR;
  return io.stdout.isTTY === true && (noColour === undefined || noColour === '');
}

function usageError(io: CliIo, message: string, usage: string): number {
  io.stderr.write(`bulwark: ${message}\n\n${usage}`);
  return EXIT.usage;
}

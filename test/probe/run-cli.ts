// Runs the `bulwark` CLI in-process with captured output, and finds ports nothing listens on, for
// the probe tests.
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { main } from '../../src/probe/cli.ts';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Pretend stdout is a terminal. @default false */
  tty?: boolean;
  /** The environment the CLI sees. @default {} */
  env?: Record<string, string>;
}

/** `bulwark ...argv`, in-process: the exit status and everything written. */
export async function runCli(argv: readonly string[], opts: RunOptions = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, {
    stdout: {
      isTTY: opts.tty ?? false,
      write: (chunk: string) => {
        stdout += chunk;
      },
    },
    stderr: {
      write: (chunk: string) => {
        stderr += chunk;
      },
    },
    env: opts.env ?? {},
  });
  return { code, stdout, stderr };
}

/** A loopback port that was free a moment ago (bound and released), so a connect is refused. */
export async function refusedPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  server.listen(0, host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The verdict line of one layer in the terminal output (`tls   failed  ...`). */
export function layerLine(stdout: string, layer: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith(`${layer} `));
  if (line === undefined) throw new Error(`no ${layer} line in:\n${stdout}`);
  return line;
}

/** The last non-empty line of the output. */
export function lastLine(stdout: string): string {
  return stdout.trimEnd().split('\n').at(-1) ?? '';
}

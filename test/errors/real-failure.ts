// Shared by the classify-real tests: capture the error a real fault raises, find a port where
// nothing listens, and describe an error's chain for the test log.
import net from 'node:net';
import type { TestContext } from 'node:test';
import { Agent } from 'undici';
import { listen } from '../helpers/listen.ts';

/** Timeouts short enough for tests; undici's fast timers fire up to ~1 s late for the last two. */
export const SHORT = { connectTimeout: 300, headersTimeout: 300, bodyTimeout: 300 } as const;

/** The value `run` rejects with; fails the test if it resolves. */
export async function failureOf(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure, but the call succeeded');
}

/** An undici Agent with {@link SHORT} timeouts (and `opts`), destroyed after the test. */
export function agent(t: TestContext, opts: Agent.Options = {}): Agent {
  const dispatcher = new Agent({ ...SHORT, ...opts });
  t.after(() => dispatcher.destroy());
  return dispatcher;
}

/** A loopback port that nothing listens on: bound once, then closed. */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = net.createServer();
  const port = await listen(server, host);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `TypeError "fetch failed" ← Error ECONNREFUSED (connect)`: what was raised, outermost first. */
export function chainOf(err: unknown): string {
  const links: string[] = [];
  let current: unknown = err;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth++) {
    const e = current as { name?: unknown; code?: unknown; syscall?: unknown; message?: unknown };
    const syscall = typeof e.syscall === 'string' ? ` (${e.syscall})` : '';
    links.push(`${String(e.name)} ${String(e.code ?? JSON.stringify(e.message))}${syscall}`);
    current = (current as { cause?: unknown }).cause;
  }
  return links.join(' ← ');
}

/** Logs the error's chain as a test diagnostic and returns it, for the table in the docs. */
export function observe<T>(t: TestContext, err: T): T {
  t.diagnostic(chainOf(err));
  return err;
}

/** The innermost `cause` of a `fetch failed` / `terminated` TypeError (or the error itself). */
export function rootCause(err: unknown): unknown {
  let current = err;
  for (let depth = 0; depth < 5; depth++) {
    const cause = (current as { cause?: unknown } | null)?.cause;
    if (cause === undefined) return current;
    current = cause;
  }
  return current;
}

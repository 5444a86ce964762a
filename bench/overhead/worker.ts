/**
 * One case of the overhead bench alone in a process of its own (forked by overhead.ts unless
 * `--shared`): its JIT feedback, heap and V8's allocation-site decisions are its own, as they are
 * in a service that uses only that client. The bench drives it over IPC:
 *
 *   { setup: { id, url, connections, baseline, h2? } }  →  { ready: true } | { error }
 *   { turn: { inflight, ms, count } }              →  { turn: Turn } | { error }
 *   { close: true }                                →  { closed: true }
 *
 * It exits when the bench disconnects.
 */
import { baselineCases, CASES, type Case, type H2Upstream, measure, type Turn } from './cases.ts';

type Message =
  | { setup: { id: string; url: string; connections: number; baseline: string; h2?: H2Upstream } }
  | { turn: { inflight: number; ms: number; count: number } }
  | { close: true };

let client: Awaited<ReturnType<Case['setup']>> | undefined;

function reply(message: { ready: true } | { turn: Turn } | { closed: true } | { error: string }): void {
  process.send?.(message);
}

async function handle(m: Message): Promise<void> {
  if ('setup' in m) {
    const { id, url, connections, baseline, h2 } = m.setup;
    const cases = baseline === '' ? CASES : [...CASES, ...(await baselineCases(baseline))];
    const c = cases.find((x) => x.id === id);
    if (c === undefined) throw new Error(`no case ${id}`);
    client = await c.setup(url, connections, h2);
    reply({ ready: true });
  } else if ('turn' in m) {
    if (client === undefined) throw new Error('turn before setup');
    const { inflight, ms, count } = m.turn;
    reply({ turn: await measure(client.one, inflight, ms, count) });
  } else {
    await client?.close();
    client = undefined;
    reply({ closed: true });
  }
}

if (process.send === undefined) {
  console.error('bench/overhead/worker.ts is forked by bench/overhead/overhead.ts; it does not run alone');
  process.exit(2);
}
process.on('message', (m: Message) => {
  handle(m).catch((err: unknown) =>
    reply({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));

/**
 * The real-socket storm's upstream, in its own process (forked by real.ts): a `node:http` server on
 * loopback with the scenario's capacity — `workers` requests in service at once for `serviceTime`
 * ms each, a bounded FIFO queue, 503 past it — and the scripted fault timeline (the same
 * `upstreamModel` as the simulator). A queued request whose client gave up (the socket closed)
 * leaves the queue; one in service keeps its worker until done.
 *
 * Protocol (IPC): the parent sends `{ scenario }`; the child answers `{ port }`; the parent sends
 * `{ start: t0 }` (epoch ms) when the fleet starts, and `{ stop: true }` at the end; the child
 * answers with its per-bucket attempts and 200s, then exits.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { StormRecorder } from './recorder.ts';
import { type Scenario, upstreamModel, workersOf } from './scenario.ts';

interface Waiting {
  readonly res: ServerResponse;
  readonly serviceTime: number;
  /** The client went away (its socket closed) before the answer. */
  gone: boolean;
  inQueue: boolean;
}

let scenario: Scenario | undefined;
let recorder: StormRecorder | undefined;
let t0 = Number.NaN;
let busy = 0;
let queued = 0;
let shed = 0;
let maxQueued = 0;
const queue: Waiting[] = [];
let head = 0;
let seed = 12345;

/** A small deterministic generator for the 'errors' draws (mulberry32). */
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const now = (): number => performance.timeOrigin + performance.now() - t0;

function reply(res: ServerResponse, status: number): void {
  if (res.destroyed || res.writableEnded) return;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end(status === 200 ? 'ok' : 'no');
}

function start(w: Waiting): void {
  busy++;
  setTimeout(() => {
    busy--;
    if (!w.gone) {
      recorder!.serve(now());
      reply(w.res, 200);
    }
    while (head < queue.length) {
      const next = queue[head++]!;
      if (!next.inQueue) continue; // left the queue when its client went away
      next.inQueue = false;
      queued--;
      start(next);
      break;
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
  }, w.serviceTime);
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const s = scenario!;
  req.resume();
  const t = now();
  recorder!.attempt(t);
  const verdict = upstreamModel(s, t, random);
  if (verdict.kind === 'reject') {
    reply(res, 503);
    return;
  }
  if (verdict.kind === 'drop') return; // never answered: the client's deadline ends it
  const w: Waiting = { res, serviceTime: verdict.serviceTime, gone: false, inQueue: false };
  res.on('close', () => {
    if (res.writableEnded) return;
    w.gone = true;
    if (w.inQueue) {
      // The server sees the connection close and drops the queued request.
      w.inQueue = false;
      queued--;
    }
  });
  if (busy < workersOf(s)) start(w);
  else if (queued < s.queue) {
    w.inQueue = true;
    queue.push(w);
    queued++;
    if (queued > maxQueued) maxQueued = queued;
  } else {
    shed++;
    reply(res, 503);
  }
}

const server = createServer({ keepAliveTimeout: 60_000 }, handle);

process.on('message', (m: { scenario?: Scenario; start?: number; stop?: boolean }) => {
  if (m.scenario !== undefined) {
    scenario = m.scenario;
    seed = m.scenario.seed * 104729 + 2;
    recorder = new StormRecorder(m.scenario.bucket);
    server.listen(0, '127.0.0.1', () => {
      const a = server.address();
      process.send?.({ port: typeof a === 'object' && a !== null ? a.port : 0 });
    });
  } else if (m.start !== undefined) {
    t0 = m.start;
  } else if (m.stop) {
    const r = recorder!;
    process.send?.(
      {
        attempts: r.attemptsAt.toArray(r.attemptsAt.length),
        served: r.served.toArray(r.served.length),
        total: r.attempts,
        shed,
        maxQueued,
      },
      () => process.exit(0),
    );
  }
});
process.on('disconnect', () => process.exit(0));

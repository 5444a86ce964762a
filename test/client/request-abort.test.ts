// client.request and a caller's AbortSignal, reason by reason and stage by stage, against undici's
// request API (Pool.request with the same signal), on a raw loopback server.
//
// For a reason that is an object or a non-empty string, client.request does exactly what
// undici's request API does: it rejects with the reason, or once the response is out its body
// fails with it (also a body that has all come in but is unread), and no listener is left on the
// signal. For `null` and the falsy reasons (`false`, `0`, `''`) client.request follows fetch's rule
// instead, the one Bulwark documents for both front-ends: the reason itself, as it is. (undici's
// request API turns them into its `RequestAbortedError`, and ignores a falsy reason on a signal
// aborted before the call.) A Node stream cannot error with a falsy value: a body read as a
// stream then fails with `RequestAbortedError`, its `text()` and the like with the reason.
//
// Aborted while its connection is being made, client.request rejects with the reason at once,
// whatever the reason. undici's request API (8.12) holds the abort until the request starts, so
// it waits out the connect and fails with the connect's error; undici 8.14 takes the request out
// of the queue and rejects with the reason, as client.request and fetch do.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Pool } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { ABORT_REASONS } from '../helpers/abort-reasons.ts';
import { closesSoon } from '../helpers/closes-soon.ts';
import { type RawServer, startRawServer } from '../helpers/raw-server.ts';
import { startUnacceptingListener, type UnacceptingListener } from '../helpers/unaccepting-listener.ts';

/** Where client.request follows fetch's rule (the reason itself) rather than undici's request API. */
const REASON_ITSELF = new Set(['null', 'false', '0', "''"]);
const REASONS = ABORT_REASONS.map(
  ([label, make]) => [label, make, REASON_ITSELF.has(label) ? 'the reason itself' : 'as undici'] as const,
);

/** Answers by path: /hang never, /drip one chunk then nothing, anything else 'hello'. */
function serve(socket: Socket): void {
  socket.on('data', (data) => {
    const line = data.toString('latin1').split('\r\n', 1)[0] ?? '';
    if (line.includes(' /hang ')) return;
    if (line.includes(' /drip ')) {
      socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nfirst\r\n');
      return;
    }
    socket.write('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello');
  });
}

interface Ctx {
  origin: string;
  unaccepting: string;
  controller: AbortController;
}

type Send = (url: string, path: string, signal: AbortSignal) => Promise<{ statusCode: number; body: Body }>;
type Body = Awaited<ReturnType<Pool['request']>>['body'];

interface Stage {
  name: string;
  /** client.request gives the reason itself here, whatever the reason (see the file comment). */
  always?: true;
  /** Where the request goes (a path on the server, or the unaccepting listener). */
  url: (ctx: Ctx) => [origin: string, path: string];
  /** Aborts before or during the call. */
  before?: (abort: () => void, ctx: Ctx) => void;
  /** Reads the body, aborting at some point. */
  read?: (body: Body, abort: () => void) => Promise<unknown>;
}

const STAGES: Stage[] = [
  { name: 'aborted before the call', url: (c) => [c.origin, '/a'], before: (abort) => abort() },
  {
    name: 'aborted while connecting',
    always: true,
    url: (c) => [c.unaccepting, '/never'],
    before: (abort) => setTimeout(abort, 30),
  },
  {
    name: 'aborted while waiting for the headers',
    url: (c) => [c.origin, '/hang'],
    before: (abort) => setTimeout(abort, 30),
  },
  {
    name: 'aborted after the headers, the body still coming and unread',
    url: (c) => [c.origin, '/drip'],
    read: async (body, abort) => {
      abort();
      return body.text();
    },
  },
  {
    name: 'aborted after the whole body came in, unread',
    url: (c) => [c.origin, '/whole'],
    read: async (body, abort) => {
      await sleep(20);
      abort();
      return body.text();
    },
  },
  {
    name: 'aborted with the body half read',
    url: (c) => [c.origin, '/drip'],
    read: async (body, abort) => {
      const first = await new Promise<string>((resolve) =>
        body.once('data', (c: Buffer) => resolve(c.toString())),
      );
      body.pause();
      abort();
      return { first, rest: await body.text().then(describeOk, describeFailure) };
    },
  },
  {
    name: 'aborted once the body was read to its end',
    url: (c) => [c.origin, '/whole'],
    read: async (body, abort) => {
      const text = await body.text();
      abort();
      return { text, used: body.bodyUsed };
    },
  },
];

let reasonOfRun: unknown;

function describeFailure(err: unknown): unknown {
  if (err === reasonOfRun) return { rejects: 'the reason itself' };
  if (err instanceof Error) return { rejects: err.constructor.name, message: err.message };
  return { rejects: typeof err, value: String(err) };
}

function describeOk(value: unknown): unknown {
  return { resolves: value };
}

async function run(send: Send, stage: Stage, make: () => unknown, ctx: Ctx): Promise<unknown> {
  const reason = make();
  reasonOfRun = reason;
  const abort = (): void => (reason === undefined ? ctx.controller.abort() : ctx.controller.abort(reason));
  const [origin, path] = stage.url(ctx);
  stage.before?.(abort, ctx);
  if (reason === undefined && ctx.controller.signal.aborted) reasonOfRun = ctx.controller.signal.reason;
  const out: Record<string, unknown> = {};
  try {
    const res = await send(origin, path, ctx.controller.signal);
    out.status = res.statusCode;
    out.read = await (stage.read ?? ((b: Body) => b.text()))(res.body, () => {
      abort();
      if (reason === undefined) reasonOfRun = ctx.controller.signal.reason;
    }).then(describeOk, describeFailure);
  } catch (err) {
    if (reason === undefined) reasonOfRun = ctx.controller.signal.reason;
    out.call = describeFailure(err);
  }
  await new Promise((resolve) => setImmediate(resolve));
  out.listeners = getEventListeners(ctx.controller.signal, 'abort').length;
  return out;
}

/** What client.request gives where it follows fetch's rule rather than undici's request API. */
function theReasonItself(stage: Stage): unknown {
  const itself = { rejects: 'the reason itself' };
  if (stage.before !== undefined) return { call: itself, listeners: 0 };
  if (stage.name.includes('read to its end'))
    return { status: 200, read: { resolves: { text: 'hello', used: true } }, listeners: 0 };
  if (stage.name.includes('half read')) {
    return { status: 200, read: { resolves: { first: 'first', rest: itself } }, listeners: 0 };
  }
  return { status: 200, read: itself, listeners: 0 };
}

describe("client.request and the caller's signal, against undici's request API", () => {
  let server: RawServer;
  let listener: UnacceptingListener;

  before(async () => {
    server = await startRawServer(serve);
    listener = await startUnacceptingListener();
  });

  after(async () => {
    await server.close();
    await listener.close();
  });

  for (const [label, make, rule] of REASONS) {
    describe(label, () => {
      for (const stage of STAGES) {
        const expect = stage.always ? 'the reason itself' : rule;
        it(`${stage.name}: ${expect}`, async () => {
          const base = {
            origin: `http://127.0.0.1:${server.port}`,
            unaccepting: `http://127.0.0.1:${listener.port}`,
          };
          const client = createClient({
            retry: false,
            breaker: false,
            bulkhead: false,
            dns: false,
            timeout: { connect: 200 },
          });
          const ours = await run(
            (origin, path, signal) => client.request(`${origin}${path}`, { signal }) as never,
            stage,
            make,
            { ...base, controller: new AbortController() },
          );
          await closesSoon(client);
          if (expect === 'the reason itself') {
            assert.deepEqual(ours, theReasonItself(stage));
            return;
          }
          const pools: Pool[] = [];
          const theirs = await run(
            (origin, path, signal) => {
              const pool = new Pool(origin, { connect: { timeout: 200 } });
              pools.push(pool);
              return pool.request({ path, method: 'GET', signal });
            },
            stage,
            make,
            { ...base, controller: new AbortController() },
          );
          await Promise.all(pools.map((pool) => pool.destroy()));
          assert.deepEqual(ours, theirs);
        });
      }
    });
  }
});

// Breakers and bulkheads per key (breaker.key, bulkhead.key) through the real client against a
// loopback server: failures on one route do not open the breaker of another, a bulkhead per route
// sheds only its route, stats() reports each key, idle keys expire on the clock and maxKeys bounds
// the live ones; bad key functions and options fail clearly.
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import type { KeyRequest } from '../../src/client/keyed-policies.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const byRoute = ({ method, path }: KeyRequest): string => `${method} ${path.split('?')[0]}`;

describe('breaker.key', () => {
  it('failures on /reset open its breaker only: /ok keeps answering', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((req, res) => {
      if (req.url?.startsWith('/reset'))
        req.socket.destroy(); // a connection reset: layer tcp
      else res.end('ok');
    });
    const clock = new VirtualClock();
    const states: unknown[] = [];
    const onState = (m: unknown): number => states.push(m);
    channel('bulwark:breaker:state').subscribe(onState);
    t.after(() => channel('bulwark:breaker:state').unsubscribe(onState));
    const client = createClient({ clock, retry: false, breaker: { key: byRoute, minimumCalls: 3 } });
    t.after(() => client.close());

    for (let i = 0; i < 3; i++) {
      const err = await client.request(`${server.origin}/reset?i=${i}`).catch((e: unknown) => e);
      assert.ok(isBulwarkError(err) && err.layer === 'tcp', String(err));
    }
    const open = await client.request(`${server.origin}/reset`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(open) && open.code === 'CIRCUIT_OPEN');
    const ok = await client.request(`${server.origin}/ok`);
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    const res = await client.fetch(`${server.origin}/ok`);
    assert.equal(await res.text(), 'ok');

    const stats = client.stats()[server.origin]!;
    assert.equal(stats.breaker, null, 'no breaker per origin when keyed');
    assert.deepEqual({ ...stats.breakers }, { 'GET /reset': 'open', 'GET /ok': 'closed' });
    assert.deepEqual(states, [
      { origin: server.origin, key: 'GET /reset', state: 'open', cause: open.cause },
    ]);
  });

  it('the default stays per origin: the same failures open the breaker for every route', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((req, res) => {
      if (req.url === '/reset') req.socket.destroy();
      else res.end('ok');
    });
    const client = createClient({ clock: new VirtualClock(), retry: false, breaker: { minimumCalls: 3 } });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++) await client.request(`${server.origin}/reset`).catch(() => {});
    await assert.rejects(client.request(`${server.origin}/ok`), { code: 'CIRCUIT_OPEN' });
    assert.equal(client.stats()[server.origin]!.breakers, undefined);
  });

  it('idle keys expire on the clock and maxKeys bounds the live ones', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    const clock = new VirtualClock();
    const client = createClient({
      clock,
      retry: false,
      breaker: { key: byRoute, maxKeys: 3, keyIdleTimeout: 10_000 },
    });
    t.after(() => client.close());
    const get = async (path: string): Promise<void> => {
      await (await client.request(`${server.origin}/${path}`)).body.dump();
    };
    for (const path of ['a', 'b', 'c', 'd', 'e']) await get(path);
    const keys = (): string[] => Object.keys(client.stats()[server.origin]!.breakers ?? {}).sort();
    assert.deepEqual(keys(), ['GET /c', 'GET /d', 'GET /e'], 'the idlest keys were evicted');
    await clock.advance(5_000);
    await get('e'); // used again: it stays
    await clock.advance(6_000);
    await get('f'); // a new key sweeps the idle ones
    assert.deepEqual(keys(), ['GET /e', 'GET /f']);
  });

  it("the key function's failures reject the call, clearly", async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    const mine = new Error('key function bug');
    const throwing = createClient({
      breaker: {
        key: () => {
          throw mine;
        },
      },
    });
    const notString = createClient({ breaker: { key: () => 42 as unknown as string } });
    t.after(() => Promise.all([throwing.close(), notString.close()]));
    await assert.rejects(throwing.fetch(server.url), (e) => e === mine);
    await assert.rejects(throwing.request(server.url), (e) => e === mine);
    await assert.rejects(notString.fetch(server.url), (e: unknown) => {
      assert.ok(e instanceof InvalidOptionError);
      assert.match(e.message, /breaker\.key/);
      return true;
    });
  });

  it('validates its options', () => {
    assert.throws(() => createClient({ breaker: { key: 'route' as never } }), /breaker\.key/);
    assert.throws(() => createClient({ breaker: { key: byRoute, maxKeys: 0 } }), /breaker\.maxKeys/);
    assert.throws(() => createClient({ breaker: { maxKeys: 1.5 } }), /breaker\.maxKeys/);
    assert.throws(() => createClient({ breaker: { keyIdleTimeout: -1 } }), /breaker\.keyIdleTimeout/);
    assert.throws(() => createClient({ breaker: { keyIdleTimeout: 2 ** 31 } }), /breaker\.keyIdleTimeout/);
    assert.throws(
      () => createClient({ bulkhead: { key: byRoute, maxKeys: Number.NaN } }),
      /bulkhead\.maxKeys/,
    );
    assert.throws(() => createClient({ breaker: { keys: byRoute } as never }), /breaker\.keys/);
  });
});

describe('bulkhead.key', () => {
  it('a full bulkhead sheds its own key only; stats report each key', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    server.handle(async (req, res) => {
      if (req.url === '/slow') await held;
      res.end('ok');
    });
    const client = createClient({ retry: false, bulkhead: { key: byRoute, limit: 1, queue: 0 } });
    t.after(() => client.close());
    const slow = client.request(`${server.origin}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assert.rejects(client.request(`${server.origin}/slow`), { code: 'POOL_QUEUE_FULL' });
    const ok = await client.request(`${server.origin}/ok`);
    await ok.body.dump();
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.bulkhead, null);
    assert.deepEqual(JSON.parse(JSON.stringify(stats.bulkheads)), {
      'GET /slow': { inFlight: 1, queued: 0, rejected: 1 },
      'GET /ok': { inFlight: 0, queued: 0, rejected: 0 },
    });
    release();
    await (await slow).body.dump();
  });

  it('a busy key is neither expired nor evicted', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    server.handle(async (req, res) => {
      if (req.url === '/slow') await held;
      res.end('ok');
    });
    const clock = new VirtualClock();
    const client = createClient({
      clock,
      retry: false,
      timeout: { total: 2 ** 30, attempt: 2 ** 30, headers: 2 ** 30 },
      bulkhead: { key: byRoute, limit: 1, queue: 0, maxKeys: 1, keyIdleTimeout: 1_000 },
    });
    t.after(() => client.close());
    const slow = client.request(`${server.origin}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await clock.advance(5_000);
    await (await client.request(`${server.origin}/ok`)).body.dump();
    // Still one slot for /slow in use: a second /slow is shed by the same bulkhead.
    await assert.rejects(client.request(`${server.origin}/slow`), { code: 'POOL_QUEUE_FULL' });
    release();
    await (await slow).body.dump();
  });
});

describe('keys of any string', () => {
  it("'__proto__', '' and 'constructor' are keys like any other in stats()", async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    const client = createClient({ retry: false, breaker: { key: ({ path }) => path.slice(1) } });
    t.after(() => client.close());
    for (const path of ['__proto__', '', 'constructor']) {
      await (await client.request(`${server.origin}/${path}`)).body.dump();
    }
    const breakers = client.stats()[server.origin]!.breakers!;
    assert.deepEqual(Object.keys(breakers).sort(), ['', '__proto__', 'constructor']);
    assert.equal(Object.getPrototypeOf(breakers), Object.prototype);
    assert.equal(
      Object.getOwnPropertyDescriptor(JSON.parse(JSON.stringify(breakers)), '__proto__')?.value,
      'closed',
    );
  });
});

describe('one key function for both', () => {
  it('is called once per call when the breaker and the bulkhead share it, twice when they do not', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    let calls = 0;
    const counted = (r: KeyRequest): string => {
      calls++;
      return byRoute(r);
    };
    const shared = createClient({ retry: false, breaker: { key: counted }, bulkhead: { key: counted } });
    const apart = createClient({
      retry: false,
      breaker: { key: counted },
      bulkhead: { key: (r) => counted(r) },
    });
    t.after(() => Promise.all([shared.close(), apart.close()]));
    await (await shared.request(`${server.origin}/a`)).body.dump();
    assert.equal(calls, 1);
    await (await apart.request(`${server.origin}/a`)).body.dump();
    assert.equal(calls, 3);
    assert.deepEqual(Object.keys(shared.stats()[server.origin]!.bulkheads!), ['GET /a']);
  });
});

/**
 * The DNS cache against a real UDP DNS server on loopback: real TTLs and clamping, shared queries,
 * serve-stale, negative caching, change events, refresh-ahead, LRU, the system fallback, the
 * `dns.lookup`-compatible function, option validation and cleanup on close.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { systemClock } from '../../src/clock/clock.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { hostKey } from '../../src/transport/dns/host-name.ts';
import { parseHosts } from '../../src/transport/dns/system-names.ts';
import {
  DNS_DEFAULTS,
  DnsCache,
  type DnsChangeEvent,
  type DnsFailureEvent,
  type DnsOptions,
  type DnsStaleEvent,
  resolveDnsOptions,
} from '../../src/transport/dns-cache.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { listen } from '../helpers/listen.ts';
import { waitFor } from '../helpers/wait-for.ts';

let server: TestDnsServer;
const caches: DnsCache[] = [];

before(async () => {
  server = await startDnsServer();
});
afterEach(async () => {
  await Promise.all(caches.splice(0).map((c) => c.close()));
});
after(async () => {
  await server.close();
});

/** A cache pointed at the test server, closed after the test. */
function makeCache(options: DnsOptions = {}): DnsCache {
  const cache = new DnsCache({ servers: [server.address], ...options });
  caches.push(cache);
  return cache;
}

const failure = bulwarkFailure;

function lookupAll(cache: DnsCache, host: string, options: { family?: number } = {}) {
  return new Promise<{ address: string; family: number }[]>((resolve, reject) => {
    cache.lookup(host, { ...options, all: true }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    );
  });
}

describe('DnsCache: TTLs', () => {
  it('serves a 2 s record from the cache while fresh and queries again after it expires', async () => {
    const clock = new VirtualClock();
    server.setRecords('ttl2.test', { A: ['127.0.0.1'], ttl: 2 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 1 });

    const first = await cache.resolve('ttl2.test');
    assert.equal(first.source, 'resolver');
    assert.deepEqual(first.addresses, [{ address: '127.0.0.1', family: 4, ttl: 2 }]);
    assert.equal(first.expiresAt, 2_000);
    assert.equal((await cache.resolve('ttl2.test')).source, 'cache');
    await clock.advance(1_999);
    assert.equal(cache.peek('TTL2.test.')?.source, 'cache', 'case and the root dot do not matter');
    assert.equal((await cache.resolve('ttl2.test')).source, 'cache');
    assert.equal(server.queries('ttl2.test'), 1);

    await clock.advance(1);
    assert.equal(cache.peek('ttl2.test'), undefined, 'expired');
    const again = await cache.resolve('ttl2.test');
    assert.equal(again.source, 'resolver');
    assert.equal(again.expiresAt, 4_000);
    assert.equal(server.queries('ttl2.test'), 2);
  });

  it('clamps TTL 0 up to minTtl and a long TTL down to maxTtl, reporting the TTL received', async () => {
    const clock = new VirtualClock({ start: 500 });
    server.setRecords('ttl0.test', { A: ['127.0.0.1'], ttl: 0 });
    server.setRecords('ttl-day.test', { A: ['127.0.0.1'], ttl: 86_400 });
    const cache = makeCache({ clock, family: 4, minTtl: 1_000, maxTtl: 60_000, refreshAhead: 1 });

    const zero = await cache.resolve('ttl0.test');
    assert.equal(zero.expiresAt - 500, 1_000);
    assert.equal(zero.addresses[0]?.ttl, 0);
    assert.equal((await cache.resolve('ttl0.test')).source, 'cache', 'TTL 0 is still cached for minTtl');
    assert.equal(server.queries('ttl0.test'), 1);

    const day = await cache.resolve('ttl-day.test');
    assert.equal(day.expiresAt - 500, 60_000);
    assert.equal(day.addresses[0]?.ttl, 86_400);
    await clock.advance(60_000);
    assert.equal((await cache.resolve('ttl-day.test')).source, 'resolver');
    assert.equal(server.queries('ttl-day.test'), 2);
  });
});

describe('DnsCache: queries', () => {
  it('shares one query among concurrent lookups of a name', async () => {
    server.setRecords('shared.test', { A: ['127.0.0.1'], AAAA: ['::1'], ttl: 60 });
    const cache = makeCache();
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.resolve('shared.test')));
    assert.equal(server.queries('shared.test', 'A'), 1);
    assert.equal(server.queries('shared.test', 'AAAA'), 1);
    assert.ok(results.every((r) => r === results[0]));
    assert.deepEqual(
      results[0]?.addresses.map((a) => [a.address, a.family]),
      [
        ['127.0.0.1', 4],
        ['::1', 6],
      ],
    );
  });

  it('accepts a name with one family only; family 6 asks AAAA only', async () => {
    server.setRecords('v4only.test', { A: ['127.0.0.3'], ttl: 60 });
    server.setRecords('v6only.test', { AAAA: ['::1'], ttl: 60 });
    const both = makeCache();
    assert.deepEqual(
      (await both.resolve('v4only.test')).addresses.map((a) => a.address),
      ['127.0.0.3'],
    );
    const v6 = makeCache({ family: 6 });
    assert.deepEqual(
      (await v6.resolve('v6only.test')).addresses.map((a) => a.address),
      ['::1'],
    );
    assert.equal(server.queries('v6only.test', 'A'), 0);
  });

  it('answers IP literals without a query', async () => {
    const cache = makeCache();
    const before = server.totalQueries;
    for (const [host, address, family] of [
      ['127.0.0.1', '127.0.0.1', 4],
      ['::1', '::1', 6],
      ['[::1]', '::1', 6],
    ] as const) {
      const r = await cache.resolve(host);
      assert.equal(r.source, 'literal');
      assert.deepEqual(r.addresses, [{ address, family, ttl: 0 }]);
      assert.equal(cache.peek(host)?.source, 'literal');
    }
    assert.equal(server.totalQueries, before);
  });

  it('rejects strings that are not DNS names with DNS_NOT_FOUND without sending a query', async () => {
    const cache = makeCache();
    const before = server.totalQueries;
    const bad = [
      '',
      `${'a'.repeat(64)}.test`,
      `${'a.'.repeat(127)}test`,
      'bad host.test',
      'semi;colon.test',
      'sla/sh.test',
      '-leading.test',
      'trailing-.test',
      'a..b.test',
      '.test',
      '[not-an-ip]',
      '1.2.3.256',
    ];
    for (const host of bad) {
      const err = await failure(cache.resolve(host));
      assert.equal(err.code, 'DNS_NOT_FOUND', host);
      assert.equal(err.layer, 'dns');
      assert.equal(cache.peek(host), undefined);
    }
    assert.equal(server.totalQueries, before, 'no query for an invalid name');
    // The longest legal label is asked about (and does not exist).
    const err = await failure(cache.resolve(`${'a'.repeat(63)}.test`));
    assert.equal(err.code, 'DNS_NOT_FOUND');
    assert.ok(server.totalQueries > before);
  });

  it('reports a resolver that refuses (nothing listening) as DNS_SERVER_FAILURE', async () => {
    const socket = dgram.createSocket('udp4');
    socket.bind(0, '127.0.0.1');
    await once(socket, 'listening');
    const port = socket.address().port;
    socket.close(); // a port with nothing behind it: ICMP port unreachable
    const cache = makeCache({ servers: [`127.0.0.1:${port}`], family: 4 });
    const err = await failure(cache.resolve('refused.test'));
    assert.equal(err.code, 'DNS_SERVER_FAILURE');
    assert.equal(err.retryable, true);
  });

  it('passes a caller abort through as its reason and times out one caller, sharing the query', async () => {
    server.silence('slow.test');
    const cache = makeCache({ family: 4, timeout: 5_000 });
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    const aborted = cache.resolve('slow.test', { signal: controller.signal });
    const timed = cache.resolve('slow.test', {
      timeout: 50,
      port: 5432,
      origin: 'postgres://slow.test:5432',
    });
    const waiting = cache.resolve('slow.test');
    controller.abort(reason);
    await assert.rejects(aborted, (e) => e === reason);
    const err = await failure(timed);
    assert.equal(err.code, 'DNS_TIMEOUT');
    assert.equal(err.budget, 'phase');
    assert.deepEqual(err.target, { origin: 'postgres://slow.test:5432', host: 'slow.test', port: 5432 });
    assert.equal(server.queries('slow.test', 'A'), 1, 'one query for all three callers');
    await assert.rejects(
      cache.resolve('slow.test', { signal: AbortSignal.abort(reason) }),
      (e) => e === reason,
    );

    // close() cancels the query in flight: its remaining waiter is told the cache is closed.
    await cache.close();
    const closed = await failure(waiting);
    assert.equal(closed.code, 'POOL_CLOSED');
    assert.equal((await failure(cache.resolve('after-close.test'))).code, 'POOL_CLOSED');
    assert.equal(cache.peek('slow.test'), undefined);
  });
});

describe('DnsCache: serve-stale (RFC 8767)', () => {
  it('serves the stale answer when a refresh gets SERVFAIL, then fails with DNS_SERVER_FAILURE after staleTtl', async () => {
    const clock = new VirtualClock();
    const name = 'stale-servfail.test';
    server.setRecords(name, { A: ['127.0.0.1'], ttl: 2 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 1, staleTtl: 10_000, negativeTtl: 1_000 });
    const stale: DnsStaleEvent[] = [];
    cache.on('stale', (e) => stale.push(e));
    await cache.resolve(name);

    server.servfail(name);
    await clock.advance(2_000);
    const served = await cache.resolve(name);
    assert.equal(served.source, 'stale');
    assert.deepEqual(
      served.addresses.map((a) => a.address),
      ['127.0.0.1'],
    );
    assert.equal(server.queries(name), 2);
    assert.equal(stale.length, 1);
    assert.equal(stale[0]?.host, name);
    assert.equal(stale[0]?.error.code, 'DNS_SERVER_FAILURE');
    assert.equal((stale[0]?.error.cause as { code?: string } | undefined)?.code, 'ESERVFAIL');
    assert.equal(stale[0]?.staleUntil, 12_000);

    // The failure is remembered for negativeTtl: stale at once, no new query, no new event.
    assert.equal((await cache.resolve(name)).source, 'stale');
    assert.equal(server.queries(name), 2);
    assert.equal(stale.length, 1);
    await clock.advance(1_000);
    assert.equal((await cache.resolve(name)).source, 'stale');
    assert.equal(server.queries(name), 3, 'asked again once the failure is forgotten');
    assert.equal(stale.length, 2);

    await clock.advance(9_000); // past staleUntil (12 000)
    const err = await failure(cache.resolve(name));
    assert.equal(err.code, 'DNS_SERVER_FAILURE');
    assert.equal(err.layer, 'dns');
    assert.equal(err.retryable, true);
    assert.deepEqual(err.target, { origin: name, host: name, port: 0 });
    assert.equal((err.cause as { code?: string }).code, 'ESERVFAIL');
  });

  it('serves the stale answer when the server goes silent, then fails with DNS_TIMEOUT after staleTtl', async () => {
    const clock = new VirtualClock();
    const name = 'stale-silent.test';
    server.setRecords(name, { A: ['127.0.0.1'], ttl: 2 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 1, staleTtl: 10_000, timeout: 800 });
    const stale: DnsStaleEvent[] = [];
    cache.on('stale', (e) => stale.push(e));
    await cache.resolve(name);

    server.silence(name);
    await clock.advance(2_000);
    let asked = server.queries(name);
    const pending = cache.resolve(name);
    await waitFor(() => server.queries(name) > asked, 'the refresh query to reach the server');
    await clock.advance(800); // the deadline passes (on the cache's clock)
    const served = await pending;
    assert.equal(served.source, 'stale');
    assert.equal(stale.length, 1);
    assert.equal(stale[0]?.error.code, 'DNS_TIMEOUT');
    assert.equal(stale[0]?.error.budget, 'phase');

    await clock.advance(10_000);
    asked = server.queries(name);
    const late = failure(cache.resolve(name)); // observed at once: it rejects inside advance()
    await waitFor(() => server.queries(name) > asked, 'the query to reach the server');
    await clock.advance(800);
    const err = await late;
    assert.equal(err.code, 'DNS_TIMEOUT');
    assert.equal(err.budget, 'phase');
    assert.equal(err.layer, 'dns');
  });
});

describe('DnsCache: negative caching (RFC 2308)', () => {
  it('stats(): hits, misses, stale and negative answers (IP literals not counted)', async () => {
    const clock = new VirtualClock();
    const name = 'stats.test';
    server.setRecords(name, { A: ['127.0.0.1'], ttl: 2 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 1, staleTtl: 10_000, negativeTtl: 1_000 });
    assert.deepEqual(cache.stats(), { hits: 0, stale: 0, negative: 0, misses: 0 });
    await cache.resolve(name); // a query
    await cache.resolve(name); // fresh from the cache
    cache.peek(name);
    await cache.resolve('127.0.0.1');
    await lookupAll(cache, name);
    assert.deepEqual(cache.stats(), { hits: 3, stale: 0, negative: 0, misses: 1 });
    await failure(cache.resolve('missing-stats.test')); // NXDOMAIN, then cached
    await failure(cache.resolve('missing-stats.test'));
    server.servfail(name);
    await clock.advance(2_000);
    await cache.resolve(name); // the refresh fails: stale (it waited for the query: a miss too)
    await cache.resolve(name); // the failure remembered: stale at once
    assert.deepEqual(cache.stats(), { hits: 3, stale: 1, negative: 1, misses: 3 });
  });

  it('caches NXDOMAIN as DNS_NOT_FOUND for negativeTtl', async () => {
    const clock = new VirtualClock();
    const cache = makeCache({ clock, negativeTtl: 5_000 });
    const failures: DnsFailureEvent[] = [];
    cache.on('failure', (e) => failures.push(e));
    const err = await failure(cache.resolve('missing.test', { port: 443, origin: 'https://missing.test' }));
    assert.equal(err.code, 'DNS_NOT_FOUND');
    assert.equal(err.layer, 'dns');
    assert.equal(err.retryable, false);
    assert.equal(err.mayHaveExecuted, false);
    assert.equal((err.cause as { code?: string }).code, 'ENOTFOUND');
    assert.deepEqual(err.target, { origin: 'https://missing.test', host: 'missing.test', port: 443 });
    assert.equal(failures.length, 1);
    const asked = server.queries('missing.test');
    assert.equal(asked, 2, 'A and AAAA');

    await clock.advance(4_999);
    const second = await failure(cache.resolve('missing.test'));
    assert.equal(second.code, 'DNS_NOT_FOUND');
    assert.notEqual(second, err, 'every caller gets its own error');
    assert.equal(server.queries('missing.test'), asked, 'no query within negativeTtl');
    assert.deepEqual(
      cache.entries().map((e) => [e.host, e.negative, e.code]),
      [['missing.test', true, 'DNS_NOT_FOUND']],
    );

    await clock.advance(1);
    await failure(cache.resolve('missing.test'));
    assert.equal(server.queries('missing.test'), asked * 2);
  });

  it('answers a name without A/AAAA records with DNS_NO_DATA, cached too', async () => {
    server.setRecords('nodata.test', {});
    const cache = makeCache();
    const err = await failure(cache.resolve('nodata.test'));
    assert.equal(err.code, 'DNS_NO_DATA');
    assert.equal((err.cause as { code?: string }).code, 'ENODATA');
    await failure(cache.resolve('nodata.test'));
    assert.equal(server.queries('nodata.test'), 2);
  });
});

describe('DnsCache: changes and refresh-ahead', () => {
  it("emits 'change' with the addresses that joined and left when a record moves", async () => {
    const clock = new VirtualClock();
    server.setRecords('moving.test', { A: ['127.0.0.1'], ttl: 5 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 1 });
    const changes: DnsChangeEvent[] = [];
    const published: unknown[] = [];
    const onPublish = (message: unknown): void => void published.push(message);
    cache.on('change', (e) => changes.push(e));
    subscribe('bulwark:dns:change', onPublish);
    try {
      await cache.resolve('moving.test');
      assert.equal(changes.length, 0, 'no change on the first answer');
      server.setRecords('moving.test', { A: ['127.0.0.2'], ttl: 5 });
      await clock.advance(5_000);
      const moved = await cache.resolve('moving.test');
      assert.deepEqual(
        moved.addresses.map((a) => a.address),
        ['127.0.0.2'],
      );
      assert.deepEqual(changes, [{ host: 'moving.test', added: ['127.0.0.2'], removed: ['127.0.0.1'] }]);
      assert.deepEqual(published, changes);

      // NXDOMAIN is an answer: every address left.
      server.remove('moving.test');
      await clock.advance(5_000);
      await failure(cache.resolve('moving.test'));
      assert.deepEqual(changes[1], { host: 'moving.test', added: [], removed: ['127.0.0.2'] });
    } finally {
      unsubscribe('bulwark:dns:change', onPublish);
    }
  });

  it('refreshes a hot name in the background before it expires, so no caller waits; cold names just expire', async () => {
    const clock = new VirtualClock();
    server.setRecords('hot.test', { A: ['127.0.0.1'], ttl: 10 });
    server.setRecords('cold.test', { A: ['127.0.0.1'], ttl: 10 });
    const cache = makeCache({ clock, family: 4, refreshAhead: 0.8 });
    await cache.resolve('hot.test');
    await cache.resolve('cold.test');
    assert.equal(cache.peek('hot.test')?.source, 'cache'); // a use since its refresh: hot

    await clock.advance(7_999);
    assert.equal(server.queries('hot.test'), 1);
    const refreshed = once(cache, 'refresh');
    await clock.advance(1); // 80 % of the TTL: the cache's one timer fires
    assert.equal(cache.peek('hot.test')?.source, 'cache', 'still fresh while the refresh is in flight');
    const [event] = await refreshed;
    assert.equal(event.host, 'hot.test');
    assert.equal(server.queries('hot.test'), 2, 'queried without any caller waiting');
    assert.equal(cache.peek('hot.test')?.expiresAt, 18_000);

    await clock.advance(2_000);
    assert.equal(cache.peek('cold.test'), undefined, 'the cold name expired');
    assert.equal(server.queries('cold.test'), 1, 'and was never refreshed');
    assert.equal(cache.peek('hot.test')?.source, 'cache');
  });

  it('keeps serving a fresh answer when its refresh-ahead fails, then serves it stale without asking again', async () => {
    const clock = new VirtualClock();
    server.setRecords('flaky.test', { A: ['127.0.0.1'], ttl: 10 });
    const cache = makeCache({ clock, family: 4, negativeTtl: 5_000 });
    const stale: DnsStaleEvent[] = [];
    cache.on('stale', (e) => stale.push(e));
    await cache.resolve('flaky.test');
    cache.peek('flaky.test');

    server.servfail('flaky.test');
    const failed = once(cache, 'failure');
    await clock.advance(8_000);
    const [event] = (await failed) as [DnsFailureEvent];
    assert.equal(event.error.code, 'DNS_SERVER_FAILURE');
    assert.equal(cache.peek('flaky.test')?.source, 'cache', 'the answer is still fresh');
    assert.equal(stale.length, 0);

    await clock.advance(2_000); // expired; the failure (at 8 000) is remembered until 13 000
    assert.equal((await cache.resolve('flaky.test')).source, 'stale');
    assert.equal(server.queries('flaky.test'), 2, 'no query while the failure is remembered');
    assert.equal(stale.length, 1);

    server.setRecords('flaky.test', { A: ['127.0.0.1'], ttl: 10 });
    await clock.advance(3_000);
    const recovered = await cache.resolve('flaky.test');
    assert.equal(recovered.source === 'resolver' || recovered.source === 'cache', true);
    assert.equal(server.queries('flaky.test'), 3);
    assert.equal(cache.entries()[0]?.code, undefined, 'the failure is forgotten once answered');
  });

  it('evicts the least recently used name at maxEntries', async () => {
    for (const n of ['lru-a', 'lru-b', 'lru-c'])
      server.setRecords(`${n}.test`, { A: ['127.0.0.1'], ttl: 60 });
    const cache = makeCache({ family: 4, maxEntries: 2 });
    await cache.resolve('lru-a.test');
    await cache.resolve('lru-b.test');
    cache.peek('lru-a.test');
    await cache.resolve('lru-c.test');
    assert.deepEqual(
      cache.entries().map((e) => e.host),
      ['lru-a.test', 'lru-c.test'],
    );
    assert.equal((await cache.resolve('lru-b.test')).source, 'resolver');
    assert.equal(server.queries('lru-b.test'), 2);
    assert.equal((await cache.resolve('lru-c.test')).source, 'cache');

    assert.equal(cache.delete('lru-c.test'), true);
    assert.equal((await cache.resolve('lru-c.test')).source, 'resolver');
    cache.clear();
    assert.deepEqual(cache.entries(), []);
  });
});

describe('DnsCache: system fallback and lookup', () => {
  it('resolves localhost and *.localhost through dns.lookup without a DNS query', async () => {
    const cache = makeCache({ systemTtl: 7_000 });
    const before = server.totalQueries;
    const local = await cache.resolve('localhost');
    assert.equal(local.source, 'system');
    assert.ok(local.addresses.some((a) => a.address === '127.0.0.1' || a.address === '::1'));
    assert.equal(local.addresses[0]?.ttl, 7);
    assert.equal((await cache.resolve('LOCALHOST.')).source, 'cache');
    const app = await cache.resolve('app.localhost');
    assert.deepEqual(app.addresses, local.addresses, 'RFC 6761: every *.localhost is loopback');
    assert.equal(server.totalQueries, before);
  });

  it('resolves a hosts-file name through dns.lookup without a DNS query', async (t) => {
    const names = [...parseHosts(readFileSync('/etc/hosts', 'utf8'))].filter(
      (n) => hostKey(n) === n && n !== 'localhost' && !n.endsWith('.localhost'),
    );
    const name = names[0];
    if (name === undefined) return t.skip('no usable name in /etc/hosts');
    const cache = makeCache();
    const before = server.totalQueries;
    const r = await cache.resolve(name);
    assert.equal(r.source, 'system');
    assert.ok(r.addresses.length > 0);
    assert.equal(server.totalQueries, before);
  });

  it('works as net.connect({ lookup }) and as dns.lookup with and without { all: true }', async () => {
    server.setRecords('tcp.test', { A: ['127.0.0.1'], ttl: 60 });
    const tcp = net.createServer((socket) => socket.end());
    const port = await listen(tcp, '127.0.0.1');
    try {
      const cache = makeCache();
      const socket = net.connect({ host: 'tcp.test', port, lookup: cache.lookup });
      await once(socket, 'connect');
      assert.equal(socket.remoteAddress, '127.0.0.1');
      socket.destroy();

      assert.deepEqual(await lookupAll(cache, 'tcp.test'), [{ address: '127.0.0.1', family: 4 }]);
      const one = await new Promise<[string, number]>((resolve, reject) => {
        cache.lookup('tcp.test', (err, address, family) => (err ? reject(err) : resolve([address, family])));
      });
      assert.deepEqual(one, ['127.0.0.1', 4]);
      const literal = await new Promise<string>((resolve, reject) => {
        cache.lookup('::1', 6, (err, address) => (err ? reject(err) : resolve(address)));
      });
      assert.equal(literal, '::1');
      const noV6 = await lookupAll(cache, 'tcp.test', { family: 6 }).catch((e: unknown) => e);
      assert.ok(isBulwarkError(noV6) && noV6.code === 'DNS_NO_DATA');
      const missing = await lookupAll(cache, 'nowhere.test').catch((e: unknown) => e);
      assert.ok(isBulwarkError(missing) && missing.code === 'DNS_NOT_FOUND');
    } finally {
      tcp.close();
    }
  });
});

describe('DnsCache: close', () => {
  it('leaves nothing behind: a process with a hot name and a query in flight exits by itself after close()', async () => {
    // The resolver is a UDP socket that never answers and does not hold the process open itself, so
    // only close() cancelling the query (and the unref'd timers) lets the process end.
    const script = `
      import dgram from 'node:dgram';
      import { once } from 'node:events';
      import { DnsCache } from ${JSON.stringify(new URL('../../src/transport/dns-cache.ts', import.meta.url).href)};
      const silent = dgram.createSocket('udp4');
      silent.bind(0, '127.0.0.1');
      await once(silent, 'listening');
      silent.unref();
      const cache = new DnsCache({ servers: ['127.0.0.1:' + silent.address().port], timeout: 60_000 });
      await cache.resolve('localhost');
      cache.peek('localhost'); // hot: the refresh timer is armed
      const pending = cache.resolve('quiet.test').catch((e) => e.code);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the query is on the wire
      await cache.close();
      // Cancelled at once, not when the resolver gives up by itself (which would hold the process).
      const settled = await Promise.race([pending, new Promise((r) => setImmediate(() => r('still in flight')))]);
      console.log(settled);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    const killer = setTimeout(() => child.kill(), 20_000);
    const [code, signal] = await once(child, 'exit');
    clearTimeout(killer);
    assert.equal(signal, null, 'the process had to be killed: something outlived close()');
    assert.equal(code, 0);
    assert.equal(out.trim(), 'POOL_CLOSED');
  });
});

describe('DnsCache: options', () => {
  it('rejects bad options with an InvalidOptionError naming the path', () => {
    const cases: Array<[unknown, string]> = [
      ['fast', 'dns'],
      [{ ttl: 5 }, 'dns.ttl'],
      [{ servers: '127.0.0.1' }, 'dns.servers'],
      [{ servers: [] }, 'dns.servers'],
      [{ servers: ['127.0.0.1', 'dns.example.com'] }, 'dns.servers[1]'],
      [{ servers: ['127.0.0.1:0'] }, 'dns.servers[0]'],
      [{ servers: ['[::1]:70000'] }, 'dns.servers[0]'],
      [{ servers: ['[127.0.0.1]:53'] }, 'dns.servers[0]'],
      [{ minTtl: -1 }, 'dns.minTtl'],
      [{ maxTtl: Number.NaN }, 'dns.maxTtl'],
      [{ staleTtl: Number.POSITIVE_INFINITY }, 'dns.staleTtl'],
      [{ negativeTtl: -5 }, 'dns.negativeTtl'],
      [{ systemTtl: '5s' }, 'dns.systemTtl'],
      [{ minTtl: 10_000, maxTtl: 5_000 }, 'dns.minTtl'],
      [{ maxEntries: 0 }, 'dns.maxEntries'],
      [{ maxEntries: 1.5 }, 'dns.maxEntries'],
      [{ timeout: 0 }, 'dns.timeout'],
      [{ refreshAhead: 0 }, 'dns.refreshAhead'],
      [{ refreshAhead: 1.5 }, 'dns.refreshAhead'],
      [{ family: 5 }, 'dns.family'],
      [{ clock: {} }, 'dns.clock.now'],
      [{ clock: 'wall' }, 'dns.clock'],
    ];
    for (const [options, path] of cases) {
      assert.throws(
        () => new DnsCache(options as DnsOptions),
        (e: unknown) => e instanceof InvalidOptionError && e.path === path,
        `${JSON.stringify(options)} → ${path}`,
      );
    }
    assert.throws(
      () => resolveDnsOptions({ minTtl: -1 }, 'client.dns'),
      (e: unknown) => e instanceof InvalidOptionError && e.path === 'client.dns.minTtl',
    );
  });

  it('has the documented defaults and accepts every server form', () => {
    const o = resolveDnsOptions(undefined);
    assert.deepEqual({ ...o }, { ...DNS_DEFAULTS, servers: undefined, clock: systemClock });
    const servers = ['127.0.0.1', '127.0.0.1:5353', '::1', '[::1]', '[::1]:53'];
    assert.deepEqual(resolveDnsOptions({ servers }).servers, servers);
    const input = { servers: ['127.0.0.1'], minTtl: 10 };
    resolveDnsOptions(input);
    assert.deepEqual(input, { servers: ['127.0.0.1'], minTtl: 10 }, "the caller's object is not touched");
  });
});

// classify() against the DNS errors Node really raises: c-ares (dns.promises.Resolver) asking the
// test DNS server on loopback, getaddrinfo (dns.lookup) refusing invalid names without asking any
// server, and the same failures reaching undici.fetch through a custom lookup.
import assert from 'node:assert/strict';
import dns, { type LookupAddress } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import { describe, type TestContext, test } from 'node:test';
import { Agent, fetch } from 'undici';
import { type Classification, classify } from '../../src/errors/classify.ts';
import type { CodeOfLayer } from '../../src/errors/codes.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { closedPort, failureOf, observe, rootCause } from './real-failure.ts';

const dnsFailure = (code: CodeOfLayer<'dns'>, retryable: boolean): Classification => ({
  layer: 'dns',
  code,
  retryable,
  mayHaveExecuted: false,
});
const NOT_FOUND = dnsFailure('DNS_NOT_FOUND', false);
const NO_DATA = dnsFailure('DNS_NO_DATA', false);
const SERVER_FAILURE = dnsFailure('DNS_SERVER_FAILURE', true);
const TIMEOUT = dnsFailure('DNS_TIMEOUT', true);

/** The test DNS server with one name per failure, and a resolver that asks only it. */
async function setup(t: TestContext) {
  const server = cleanup(t, await startDnsServer());
  server.setRecords('v6only.test', { AAAA: ['::1'] });
  server.nxdomain('gone.test');
  server.servfail('broken.test');
  server.silence('slow.test');
  return { server, resolver: resolverFor(server) };
}

function resolverFor(server: TestDnsServer): Resolver {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([server.address]);
  return resolver;
}

function errno(err: unknown): { code: unknown; syscall: unknown } {
  const e = err as NodeJS.ErrnoException;
  return { code: e.code, syscall: e.syscall };
}

describe('c-ares against the test DNS server', { concurrency: true }, () => {
  const cases: Array<[string, string, { code: string; syscall: string }, Classification]> = [
    ['NXDOMAIN', 'gone.test', { code: 'ENOTFOUND', syscall: 'queryA' }, NOT_FOUND],
    ['SERVFAIL', 'broken.test', { code: 'ESERVFAIL', syscall: 'queryA' }, SERVER_FAILURE],
    ['silence', 'slow.test', { code: 'ETIMEOUT', syscall: 'queryA' }, TIMEOUT],
    ['NODATA (AAAA only, A asked)', 'v6only.test', { code: 'ENODATA', syscall: 'queryA' }, NO_DATA],
  ];
  for (const [fault, name, raised, classified] of cases) {
    test(`${fault}: ${raised.code} → ${classified.code}`, async (t) => {
      const { resolver } = await setup(t);
      const err = observe(t, await failureOf(() => resolver.resolve4(name)));
      assert.deepEqual(errno(err), raised);
      assert.deepEqual(classify(err), classified);
    });
  }

  test('an invalid name: EBADNAME, without a query → DNS_NOT_FOUND', async (t) => {
    const { server, resolver } = await setup(t);
    const err = observe(t, await failureOf(() => resolver.resolve4('a'.repeat(300))));
    assert.deepEqual(errno(err), { code: 'EBADNAME', syscall: 'queryA' });
    assert.deepEqual(classify(err), NOT_FOUND);
    assert.equal(server.totalQueries, 0);
  });

  test('no DNS server on the port: ECONNREFUSED from a query → DNS_SERVER_FAILURE, not TCP', async (t) => {
    const resolver = new Resolver({ timeout: 200, tries: 1 });
    resolver.setServers([`127.0.0.1:${await closedPort()}`]);
    const err = observe(t, await failureOf(() => resolver.resolve4('any.test')));
    assert.deepEqual(errno(err), { code: 'ECONNREFUSED', syscall: 'queryA' });
    assert.deepEqual(classify(err), SERVER_FAILURE);
  });

  test("resolver.cancel(): ECANCELLED is the caller's doing → app, aborted", async (t) => {
    const { server } = await setup(t);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([server.address]);
    const pending = failureOf(() => resolver.resolve4('slow.test'));
    setTimeout(() => resolver.cancel(), 20);
    const err = observe(t, await pending);
    assert.deepEqual(errno(err), { code: 'ECANCELLED', syscall: 'queryA' });
    assert.deepEqual(classify(err), {
      layer: 'app',
      code: null,
      retryable: false,
      mayHaveExecuted: true,
      aborted: true,
    });
  });
});

describe('getaddrinfo (dns.lookup) on names it rejects without asking a server', () => {
  // Each of these fails inside the C library (or libuv) before any packet is sent, so the
  // machine's own resolver configuration does not matter.
  const cases: Array<[string, string, string]> = [
    ['an empty label', 'bad..name', 'ENOTFOUND'],
    ['a label longer than 63 characters', `${'x'.repeat(64)}.test`, 'ENOTFOUND'],
    ['a space in the name', 'bad name', 'ENOTFOUND'],
    ['a name longer than 253 characters', 'a'.repeat(300), 'EINVAL'],
  ];
  for (const [what, name, code] of cases) {
    test(`${what}: ${code} (getaddrinfo) → DNS_NOT_FOUND`, async (t) => {
      const err = observe(t, await failureOf(() => dns.promises.lookup(name)));
      assert.deepEqual(errno(err), { code, syscall: 'getaddrinfo' });
      assert.deepEqual(classify(err), NOT_FOUND);
    });
  }
});

describe('undici.fetch with a lookup that asks the test DNS server', { concurrency: true }, () => {
  /** A `lookup` for undici's connect() that resolves A records with `resolver`. */
  function lookupWith(resolver: Resolver) {
    return (
      host: string,
      _opts: unknown,
      callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void,
    ): void => {
      resolver.resolve4(host).then(
        (addresses) =>
          callback(
            null,
            addresses.map((address) => ({ address, family: 4 })),
          ),
        (err: Error) => callback(err, []),
      );
    };
  }

  const cases: Array<[string, string, string, Classification]> = [
    ['NXDOMAIN', 'gone.test', 'ENOTFOUND', NOT_FOUND],
    ['SERVFAIL', 'broken.test', 'ESERVFAIL', SERVER_FAILURE],
    ['silence', 'slow.test', 'ETIMEOUT', TIMEOUT],
    ['NODATA', 'v6only.test', 'ENODATA', NO_DATA],
  ];
  for (const [fault, name, code, classified] of cases) {
    test(`${fault}: fetch failed ← ${code} → ${classified.code}`, async (t) => {
      const { resolver } = await setup(t);
      const dispatcher = new Agent({ connect: { lookup: lookupWith(resolver) } });
      t.after(() => dispatcher.destroy());
      const err = observe(t, await failureOf(() => fetch(`http://${name}:8080/`, { dispatcher })));
      assert.ok(err instanceof TypeError);
      assert.equal((rootCause(err) as NodeJS.ErrnoException).code, code);
      assert.deepEqual(classify(err), classified);
    });
  }
});

// Proves the test DNS server against Node's own resolver (c-ares): records with their TTLs, and
// each failure mapped to the error code Node raises for it.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { Resolver } from 'node:dns/promises';
import { test } from 'node:test';
import dnsPacket from 'dns-packet';
import { cleanup } from './cleanup.ts';
import { startDnsServer, type TestDnsServer } from './dns-server.ts';

function resolverFor(server: TestDnsServer): Resolver {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([server.address]);
  return resolver;
}

test('A and AAAA records arrive with their TTLs, names case-insensitive', async (t) => {
  const server = cleanup(t, await startDnsServer());
  assert.equal(server.address, `127.0.0.1:${server.port}`);
  server.setRecords('api.test', { A: ['127.0.0.1', '127.0.0.2'], AAAA: ['::1'], ttl: 7 });
  server.setRecords('zero.test.', { A: ['127.0.0.3'], ttl: 0 });
  const resolver = resolverFor(server);
  assert.deepEqual(await resolver.resolve4('API.Test', { ttl: true }), [
    { address: '127.0.0.1', ttl: 7 },
    { address: '127.0.0.2', ttl: 7 },
  ]);
  assert.deepEqual(await resolver.resolve6('api.test', { ttl: true }), [{ address: '::1', ttl: 7 }]);
  assert.deepEqual(await resolver.resolve4('zero.test', { ttl: true }), [{ address: '127.0.0.3', ttl: 0 }]);
});

test('records can change and be removed', async (t) => {
  const server = cleanup(t, await startDnsServer());
  const resolver = resolverFor(server);
  server.setRecords('moving.test', { A: ['127.0.0.1'] });
  assert.deepEqual(await resolver.resolve4('moving.test'), ['127.0.0.1']);
  server.setRecords('moving.test', { A: ['127.0.0.2'] });
  assert.deepEqual(await resolver.resolve4('moving.test'), ['127.0.0.2']);
  server.remove('moving.test');
  await assert.rejects(resolver.resolve4('moving.test'), { code: 'ENOTFOUND' });
});

test('each failure gives the code Node raises for it', async (t) => {
  const server = cleanup(t, await startDnsServer());
  server.setRecords('v6only.test', { AAAA: ['::1'] });
  server.nxdomain('gone.test');
  server.servfail('broken.test');
  server.silence('slow.test');
  const resolver = resolverFor(server);
  await assert.rejects(resolver.resolve4('v6only.test'), { code: 'ENODATA' }); // NODATA
  await assert.rejects(resolver.resolveMx('v6only.test'), { code: 'ENODATA' }); // other types too
  await assert.rejects(resolver.resolve4('gone.test'), { code: 'ENOTFOUND' }); // NXDOMAIN
  await assert.rejects(resolver.resolve4('never-set.test'), { code: 'ENOTFOUND' });
  await assert.rejects(resolver.resolve4('broken.test'), { code: 'ESERVFAIL' });
  await assert.rejects(resolver.resolve4('slow.test'), { code: 'ETIMEOUT' });
  assert.equal(server.queries('slow.test'), 1, 'a silenced query is still received');
});

test('queries are counted per name and type until reset', async (t) => {
  const server = cleanup(t, await startDnsServer());
  server.setRecords('count.test', { A: ['127.0.0.1'], AAAA: ['::1'] });
  const resolver = resolverFor(server);
  await resolver.resolve4('count.test');
  await resolver.resolve4('COUNT.test');
  await resolver.resolve6('count.test');
  await assert.rejects(resolver.resolve4('other.test'));
  assert.equal(server.queries('count.test'), 3);
  assert.equal(server.queries('Count.Test.', 'A'), 2);
  assert.equal(server.queries('count.test', 'aaaa'), 1);
  assert.equal(server.queries('other.test'), 1);
  assert.equal(server.totalQueries, 4);
  server.resetCounts();
  assert.deepEqual([server.queries('count.test'), server.totalQueries], [0, 0]);
});

test('the response echoes id and question and sets QR, AA, RD and RA', async (t) => {
  const server = cleanup(t, await startDnsServer());
  server.setRecords('Flags.Test', { A: ['127.0.0.1'], ttl: 30 });
  const socket = dgram.createSocket('udp4');
  try {
    const query = dnsPacket.encode({
      type: 'query',
      id: 4242,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name: 'fLaGs.tEsT' }],
    });
    const reply = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(query, server.port, server.host);
    const response = dnsPacket.decode(await reply);
    assert.equal(response.id, 4242);
    assert.deepEqual(
      [response.flag_qr, response.flag_aa, response.flag_rd, response.flag_ra, response.flag_tc],
      [true, true, true, true, false],
    );
    assert.deepEqual(response.questions, [{ name: 'fLaGs.tEsT', type: 'A', class: 'IN' }]);
    assert.equal(response.answers?.[0]?.name, 'fLaGs.tEsT'); // 0x20-safe: the query's spelling
  } finally {
    socket.close();
  }
});

test('listens on ::1 too', async (t) => {
  const server = cleanup(t, await startDnsServer({ host: '::1' }));
  assert.equal(server.address, `[::1]:${server.port}`);
  server.setRecords('six.test', { A: ['127.0.0.1'] });
  assert.deepEqual(await resolverFor(server).resolve4('six.test'), ['127.0.0.1']);
});

/** Host-name rules of the DNS cache: cache keys, invalid names, IP literals, localhost names. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dotCount, hostKey, isLocalhostName, parseLiteral } from '../../../src/transport/dns/host-name.ts';

describe('host names', () => {
  it('normalises names to their cache key', () => {
    assert.equal(hostKey('Example.COM.'), 'example.com');
    assert.equal(hostKey('_srv.example.com'), '_srv.example.com');
    assert.equal(hostKey('bücher.example'), 'xn--bcher-kva.example');
    assert.equal(hostKey(`${'a'.repeat(63)}.test`), `${'a'.repeat(63)}.test`);
  });

  it('rejects strings that cannot be DNS names', () => {
    for (const bad of [
      '',
      '.',
      'a.b..c',
      `${'a'.repeat(64)}.test`,
      `${'a.'.repeat(127)}test`,
      'x y',
      '-a.test',
      'a-.test',
      '1.2.3.256',
    ]) {
      assert.equal(hostKey(bad), undefined, JSON.stringify(bad));
    }
  });

  it('recognises IP literals, bracketed IPv6 included', () => {
    assert.deepEqual(parseLiteral('127.0.0.1'), { address: '127.0.0.1', family: 4 });
    assert.deepEqual(parseLiteral('[::1]'), { address: '::1', family: 6 });
    assert.equal(parseLiteral('[127.0.0.1]'), undefined);
    assert.equal(parseLiteral('localhost'), undefined);
  });

  it('knows localhost names and counts dots', () => {
    assert.ok(isLocalhostName('localhost') && isLocalhostName('app.localhost'));
    assert.ok(!isLocalhostName('notlocalhost') && !isLocalhostName('localhost.example'));
    assert.equal(dotCount('db'), 0);
    assert.equal(dotCount('db.ns.svc'), 2);
  });
});

/** How one resolution of both families is combined into an outcome (no network: a stub resolver). */
import assert from 'node:assert/strict';
import type { Resolver } from 'node:dns/promises';
import { describe, it } from 'node:test';
import { DNS_DEFAULTS, resolveDnsOptions } from '../../../src/transport/dns/options.ts';
import { queryResolver } from '../../../src/transport/dns/query.ts';

const options = resolveDnsOptions({});

function nodeError(code: string, syscall: string): Error {
  return Object.assign(new Error(`${syscall} ${code} x.test`), { code, syscall });
}

function stub(a: () => Promise<unknown>, aaaa: () => Promise<unknown>): Resolver {
  return { resolve4: a, resolve6: aaaa } as unknown as Resolver;
}

describe('queryResolver', () => {
  it('keeps a family that failed transiently out of the answer, cached briefly, instead of failing the name', async () => {
    const resolver = stub(
      async () => [{ address: '10.0.0.1', ttl: 300 }],
      async () => {
        throw nodeError('ETIMEOUT', 'queryAaaa');
      },
    );
    const out = await queryResolver(resolver, 'x.test', options);
    assert.equal(out.kind, 'answer');
    if (out.kind !== 'answer') return;
    assert.deepEqual(
      out.addresses.map((a) => a.address),
      ['10.0.0.1'],
    );
    assert.equal(out.ttl, DNS_DEFAULTS.negativeTtl);
    assert.equal(out.missing?.family, 6);
    assert.equal(out.missing?.failure.code, 'DNS_TIMEOUT');
  });

  it('takes the smallest TTL of both families, and NODATA on one family is no failure', async () => {
    const both = stub(
      async () => [{ address: '10.0.0.1', ttl: 30 }],
      async () => [{ address: '::2', ttl: 20 }],
    );
    const out = await queryResolver(both, 'x.test', options);
    assert.ok(out.kind === 'answer' && out.ttl === 20_000 && out.missing === undefined);
    const v4 = stub(
      async () => [{ address: '10.0.0.1', ttl: 30 }],
      async () => {
        throw nodeError('ENODATA', 'queryAaaa');
      },
    );
    const only = await queryResolver(v4, 'x.test', options);
    assert.ok(only.kind === 'answer' && only.ttl === 30_000 && only.missing === undefined);
  });

  it('prefers "unknown" over "no data" when both families fail, and NXDOMAIN over NODATA', async () => {
    const failing = stub(
      async () => {
        throw nodeError('ENODATA', 'queryA');
      },
      async () => {
        throw nodeError('ESERVFAIL', 'queryAaaa');
      },
    );
    const out = await queryResolver(failing, 'x.test', options);
    assert.ok(out.kind === 'failure' && out.code === 'DNS_SERVER_FAILURE');
    const gone = stub(
      async () => {
        throw nodeError('ENODATA', 'queryA');
      },
      async () => {
        throw nodeError('ENOTFOUND', 'queryAaaa');
      },
    );
    const nx = await queryResolver(gone, 'x.test', options);
    assert.ok(nx.kind === 'negative' && nx.code === 'DNS_NOT_FOUND');
  });
});

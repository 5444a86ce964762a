// Bad input: every option is validated when the client is created (InvalidOptionError naming the
// path, what was expected and what was received; unknown keys rejected), per-call overrides are
// validated per call, and URLs fail the way fetch fails.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

function rejectsOption(options: unknown, path: string, pattern?: RegExp): void {
  assert.throws(
    () => createClient(options as never),
    (err: unknown) => {
      assert.ok(err instanceof InvalidOptionError, String(err));
      assert.ok(err instanceof TypeError);
      assert.equal(err.path, path);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('client options', () => {
  it('rejects bad values with the option path, the expectation and the value received', () => {
    rejectsOption(
      { retry: { backoff: { base: 500, cap: 100 } } },
      'retry.backoff.cap',
      /must be ≥ base \(500\); received 100/,
    );
    rejectsOption(
      { timeout: { total: 1_000, attempt: 5_000 } },
      'timeout.attempt',
      /≤ timeout.total \(1000\)/,
    );
    rejectsOption({ timeout: { total: -1 } }, 'timeout.total');
    rejectsOption({ timeout: { dns: Number.NaN } }, 'timeout.dns', /received NaN/);
    rejectsOption({ timeout: { connect: Number.POSITIVE_INFINITY } }, 'timeout.connect');
    rejectsOption({ timeout: 'soon' }, 'timeout', /an object/);
    rejectsOption({ retry: { limit: 1.5 } }, 'retry.limit', /an integer/);
    rejectsOption({ retry: { statusCodes: [503, 99] } }, 'retry.statusCodes[1]');
    rejectsOption({ retry: { statusCodes: 503 } }, 'retry.statusCodes');
    rejectsOption({ retry: { budget: { ratio: -1 } } }, 'retry.budget.ratio');
    rejectsOption(
      { retry: { backoff: { jitter: 'random' } } },
      'retry.backoff.jitter',
      /"full", "equal", "decorrelated", "none"/,
    );
    rejectsOption({ breaker: { threshold: 150 } }, 'breaker.threshold');
    rejectsOption({ bulkhead: { limit: 0 } }, 'bulkhead.limit');
    rejectsOption({ keepAlive: { lifetimeJitter: 2 } }, 'keepAlive.lifetimeJitter');
    rejectsOption({ connections: 0 }, 'connections');
    rejectsOption({ throwHttpErrors: 'yes' }, 'throwHttpErrors', /true or false/);
    rejectsOption({ deadlineHeader: 'bad header' }, 'deadlineHeader');
    rejectsOption({ clock: {} }, 'clock.now', /must be a function/);
    rejectsOption({ clock: { now: () => 0 } }, 'clock.setTimeout');
    rejectsOption({ clock: 'wall' }, 'clock', /a Clock/);
    rejectsOption({ tls: { socket: {} } }, 'tls.socket');
    rejectsOption({ dns: { minTtl: -5 } }, 'dns.minTtl');
    rejectsOption({ dns: 'cloudflare' }, 'dns');
  });

  it('rejects unknown keys at every level', () => {
    rejectsOption({ timeouts: {} }, 'timeouts', /known option/);
    rejectsOption({ retry: { retries: 3 } }, 'retry.retries');
    rejectsOption({ retry: { backoff: { factor: 2 } } }, 'retry.backoff.factor');
    rejectsOption({ breaker: { timeout: 100 } }, 'breaker.timeout');
    rejectsOption({ timeout: { request: 1 } }, 'timeout.request');
    rejectsOption({ dns: { ttl: 1 } }, 'dns.ttl');
  });

  it('never mutates or freezes the caller’s options', () => {
    const options = { retry: { limit: 1, backoff: { base: 10 } }, timeout: { total: 1_000 } };
    const copy = structuredClone(options);
    const client = createClient(options);
    assert.deepEqual(options, copy);
    assert.ok(!Object.isFrozen(options.retry));
    return client.close();
  });

  it('validates per-call overrides per call, rejecting rather than throwing', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    await assert.rejects(client.fetch(server.url, { timeout: { total: 100, attempt: 200 } }), {
      name: 'InvalidOptionError',
      path: 'timeout.attempt',
    });
    await assert.rejects(client.request(server.url, { timeout: { dns: 10 } } as never), {
      path: 'timeout.dns',
    });
    await assert.rejects(client.request(server.url, { retry: { limit: -1 } }), { path: 'retry.limit' });
    await assert.rejects(client.request(server.url, { methd: 'GET' } as never), { path: 'options.methd' });
    assert.equal(server.requests, 0);
  });

  it('an invalid URL is a TypeError, as with fetch', async (t) => {
    const client = createClient();
    t.after(() => client.close());
    await assert.rejects(client.fetch('not a url'), TypeError);
    await assert.rejects(client.fetch('/relative'), TypeError);
    await assert.rejects(client.request('http://'), TypeError);
    await assert.rejects(client.request('ftp://example.test/'), TypeError);
    await assert.rejects(global.fetch('not a url'), TypeError);
  });

  it('bad input rejects the returned promise rather than throwing, as with fetch', async (t) => {
    const client = createClient();
    t.after(() => client.close());
    const calls = [
      () => client.fetch('not a url'),
      () => client.fetch('http://127.0.0.1:1/', { dispatcher: {} } as never),
      () => client.fetch('http://127.0.0.1:1/', { retry: { limit: -1 } }),
      () => client.request('not a url'),
      () => client.request('http://127.0.0.1:1/', { unknown: 1 } as never),
    ];
    for (const call of calls) {
      let returned: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        returned = call();
      });
      assert.ok(returned instanceof Promise);
      await assert.rejects(returned);
    }
  });
});

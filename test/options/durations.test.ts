// Every duration option of Bulwark is bounded by one shared check (checkDuration, MAX_DURATION =
// 2³¹−1 ms, the longest delay Node's timers hold): for each option of the client, a call, the
// pool, the pool factories, the DNS cache, health checks and the probe, any value above the bound
// (and Infinity) is refused with an InvalidOptionError naming the option's path, and the bound
// itself is accepted. A guard keeps the list complete: every key of the published defaults that
// is a duration must be in it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createClient } from '../../src/client/client.ts';
import { KEEP_ALIVE_DEFAULTS } from '../../src/client/options.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { healthCheck } from '../../src/health/health-check.ts';
import { HEALTH_DEFAULTS } from '../../src/health/options.ts';
import { checkDuration, MAX_DURATION } from '../../src/options/validate.ts';
import { BACKOFF_DEFAULTS } from '../../src/policy/backoff.ts';
import { BREAKER_DEFAULTS } from '../../src/policy/breaker.ts';
import { RETRY_BUDGET_DEFAULTS } from '../../src/policy/retry-budget.ts';
import { RETRY_DEFAULTS } from '../../src/policy/retry-options.ts';
import { TIMEOUT_DEFAULTS } from '../../src/policy/timeouts.ts';
import { ioredisFactory } from '../../src/pool/drivers/ioredis.ts';
import { mysql2Factory } from '../../src/pool/drivers/mysql2.ts';
import { pgFactory } from '../../src/pool/drivers/pg.ts';
import { POOL_DEFAULTS } from '../../src/pool/options.ts';
import { createPool } from '../../src/pool/pool.ts';
import { parseProbeArgs, UsageError } from '../../src/probe/args.ts';
import { PROBE_TIMEOUT_DEFAULTS, resolveProbeOptions } from '../../src/probe/options.ts';
import { DNS_DEFAULTS } from '../../src/transport/dns/options.ts';
import { DnsCache } from '../../src/transport/dns-cache.ts';
import { fakeFactory } from '../pool/fake-factory.ts';

/** `{ a: { b: value } }` for the path 'a.b', merged over `base`. */
function withPath(base: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const out = structuredClone(base);
  const keys = path.split('.');
  let node = out;
  for (const key of keys.slice(0, -1)) {
    node[key] = { ...((node[key] as Record<string, unknown> | undefined) ?? {}) };
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1] as string] = value;
  return out;
}

/** One place that takes duration options: how to apply one, and the options it needs beside it. */
interface Surface {
  readonly name: string;
  /** Option paths (as the error names them) and, per path, what must accompany the bound to be valid. */
  readonly paths: Readonly<Record<string, Record<string, unknown>>>;
  /** Applies `options` (a whole options object); throws or rejects with what validation says. */
  apply(options: Record<string, unknown>, path: string): Promise<void>;
}

const MAX = MAX_DURATION;

const clientPaths = {
  timeout: {},
  'timeout.total': {},
  'timeout.attempt': { timeout: { total: MAX } },
  'timeout.dns': {},
  'timeout.connect': {},
  'timeout.tls': {},
  'timeout.headers': {},
  'timeout.body': {},
  'retry.maxRetryAfter': {},
  'retry.backoff.base': {},
  'retry.backoff.cap': {},
  'retry.budget.window': {},
  'retry.budget.memory': {},
  'breaker.window': {},
  'breaker.resetTimeout': {},
  'keepAlive.idleTimeout': {},
  'keepAlive.tcpKeepAliveDelay': {},
  'keepAlive.maxLifetime': {},
  'dns.minTtl': { dns: { maxTtl: MAX } },
  'dns.maxTtl': {},
  'dns.staleTtl': {},
  'dns.negativeTtl': {},
  'dns.systemTtl': {},
  'dns.timeout': {},
};

const surfaces: Surface[] = [
  {
    name: 'createClient',
    paths: clientPaths,
    async apply(options) {
      await createClient(options).close();
    },
  },
  {
    name: 'a call (client.fetch / client.request init)',
    paths: {
      timeout: {},
      'timeout.total': {},
      'timeout.attempt': { timeout: { total: MAX } },
      'timeout.headers': {},
      'timeout.body': {},
      'retry.maxRetryAfter': {},
      'retry.backoff.base': {},
      'retry.backoff.cap': {},
    },
    async apply(options) {
      const client = createClient({ retry: false, breaker: false, dns: false });
      try {
        // Port 1 refuses at once: a valid call fails with a BulwarkError, an invalid one does not start.
        const outcomes = await Promise.allSettled([
          client.fetch('http://127.0.0.1:1/', options),
          client.request('http://127.0.0.1:1/', options),
        ]);
        for (const o of outcomes) {
          if (o.status === 'rejected' && o.reason instanceof InvalidOptionError) throw o.reason;
        }
      } finally {
        await client.close();
      }
    },
  },
  {
    // (A standalone cache names its options as the client's `dns` option does.)
    name: 'new DnsCache',
    paths: {
      'dns.minTtl': { dns: { maxTtl: MAX } },
      'dns.maxTtl': {},
      'dns.staleTtl': {},
      'dns.negativeTtl': {},
      'dns.systemTtl': {},
      'dns.timeout': {},
    },
    async apply(options) {
      await new DnsCache(options.dns as Record<string, unknown>).close();
    },
  },
  {
    name: 'createPool',
    paths: {
      acquireTimeout: {},
      validateAfterIdle: {},
      validationTimeout: {},
      keepaliveInterval: {},
      maxLifetime: {},
      idleTimeout: {},
      leakDetectionThreshold: {},
      createTimeout: {},
      probeInterval: {},
      useTimeout: {},
      'backoff.base': {},
      'backoff.cap': {},
      'breaker.window': {},
      'breaker.resetTimeout': {},
    },
    async apply(options) {
      await createPool(fakeFactory(), { min: 0, ...options }).close();
    },
  },
  {
    name: 'pool.acquire / pool.close',
    paths: { 'acquire.timeout': {}, 'close.timeout': {} },
    async apply(options, path) {
      const pool = createPool(fakeFactory(), { min: 0 });
      try {
        const timeout = path === 'acquire.timeout' ? (options.acquire as { timeout: number }).timeout : 1;
        pool.release(await pool.acquire({ timeout }));
      } finally {
        await pool.close(
          path === 'close.timeout' ? { timeout: (options.close as { timeout: number }).timeout } : undefined,
        );
      }
    },
  },
  {
    name: 'pool.use',
    paths: { 'use.timeout': {}, 'use.useTimeout': {} },
    async apply(options) {
      const pool = createPool(fakeFactory(), { min: 0 });
      try {
        await pool.use(() => 1, options.use as { timeout?: number; useTimeout?: number });
      } finally {
        await pool.close();
      }
    },
  },
  ...(
    [
      ['pgFactory', pgFactory, 'postgres://127.0.0.1:1/x'],
      ['mysql2Factory', mysql2Factory, 'mysql://127.0.0.1:1/x'],
      ['ioredisFactory', ioredisFactory, 'redis://127.0.0.1:1'],
    ] as const
  ).map(
    ([name, factory, url]): Surface => ({
      name: `${name} options`,
      paths: {
        [`${name}.options.connectTimeout`]: {},
        [`${name}.options.keepAliveDelay`]: {},
        [`${name}.options.statementTimeout`]: {},
      },
      async apply(options) {
        const given = (options[name] as { options: Record<string, unknown> }).options;
        (factory as (url: string, o: Record<string, unknown>) => unknown)(url, given);
      },
    }),
  ),
  {
    name: 'healthCheck',
    paths: { 'options.timeout': {}, 'checks.a.timeout': {} },
    async apply(options) {
      const checks = (options.checks as { a?: { timeout: number } } | undefined)?.a
        ? { a: { check: () => true, timeout: (options.checks as { a: { timeout: number } }).a.timeout } }
        : { a: () => true };
      await healthCheck(checks, options.options as { timeout?: number } | undefined);
    },
  },
  {
    name: 'probe options',
    paths: { 'timeouts.dns': {}, 'timeouts.connect': {}, 'timeouts.tls': {}, 'timeouts.http': {} },
    async apply(options) {
      resolveProbeOptions(options);
    },
  },
];

async function refusal(surface: Surface, path: string, value: number): Promise<InvalidOptionError> {
  const options = withPath(surface.paths[path] ?? {}, path, value);
  try {
    await surface.apply(options, path);
  } catch (err) {
    assert.ok(err instanceof InvalidOptionError, `${surface.name} ${path}=${value}: threw ${String(err)}`);
    return err;
  }
  assert.fail(`${surface.name}: ${path} = ${value} was accepted`);
}

describe('durations are bounded by one shared check (≤ 2³¹−1 ms)', () => {
  it('checkDuration: the bound itself passes; anything above it, Infinity and NaN do not', () => {
    assert.equal(MAX_DURATION, 2 ** 31 - 1);
    assert.equal(checkDuration(MAX_DURATION, 'x', 0), MAX_DURATION);
    fc.assert(
      fc.property(fc.double({ min: MAX_DURATION + 1e-6, noNaN: true }), (v) => {
        assert.throws(() => checkDuration(v, 'x', 0), InvalidOptionError);
      }),
    );
    assert.throws(() => checkDuration(Number.NaN, 'x', 0), InvalidOptionError);
  });

  const tooBig = fc.oneof(
    fc.integer({ min: MAX + 1, max: Number.MAX_SAFE_INTEGER }),
    fc.double({ min: MAX + 0.5, max: 1e300, noNaN: true }),
    fc.constant(Number.POSITIVE_INFINITY),
    fc.constant(3e9),
  );

  for (const surface of surfaces) {
    for (const path of Object.keys(surface.paths)) {
      it(`${surface.name}: ${path} above the bound is refused naming it; the bound is accepted`, async () => {
        await fc.assert(
          fc.asyncProperty(tooBig, async (value) => {
            const err = await refusal(surface, path, value);
            assert.equal(err.path, path);
            assert.match(err.message, /2147483647/);
          }),
          { numRuns: 15 },
        );
        await surface.apply(withPath(surface.paths[path] ?? {}, path, MAX), path);
      });
    }
  }

  it('bulwark probe: a --*-timeout flag above the bound is a usage error', async () => {
    for (const flag of ['--dns-timeout', '--connect-timeout', '--tls-timeout', '--http-timeout']) {
      await assert.rejects(parseProbeArgs([flag, String(MAX + 1), 'http://127.0.0.1/']), UsageError);
      await assert.doesNotReject(parseProbeArgs([flag, String(MAX), 'http://127.0.0.1/']));
    }
  });

  it('every duration among the published defaults is in the table above', () => {
    const duration =
      /(timeout|ttl|interval|lifetime|delay|threshold|window|memory|total|attempt|dns|connect|tls|headers|body|http|base|cap|maxretryafter)$/i;
    const listed = new Set(surfaces.flatMap((s) => Object.keys(s.paths).map((p) => p.split('.').at(-1))));
    const defaults: Record<string, object> = {
      TIMEOUT_DEFAULTS,
      KEEP_ALIVE_DEFAULTS,
      RETRY_DEFAULTS,
      BACKOFF_DEFAULTS,
      BREAKER_DEFAULTS,
      RETRY_BUDGET_DEFAULTS,
      POOL_DEFAULTS,
      DNS_DEFAULTS,
      HEALTH_DEFAULTS,
      PROBE_TIMEOUT_DEFAULTS,
    };
    const notDurations = new Set(['threshold']); // the breaker's failure percentage
    for (const [name, object] of Object.entries(defaults)) {
      for (const [key, value] of Object.entries(object)) {
        if (
          typeof value !== 'number' ||
          !duration.test(key) ||
          (name === 'BREAKER_DEFAULTS' && notDurations.has(key))
        )
          continue;
        assert.ok(listed.has(key), `${name}.${key} looks like a duration and is not covered`);
      }
    }
  });
});

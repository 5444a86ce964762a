// healthCheck(): checks run in parallel under their deadlines; failures carry the layer and code of
// the error (classify), a missed deadline is HEALTH_TIMEOUT unless the check's own error names a
// layer; a throwing check is down, not a crash; no timer is left behind; options are validated.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { HEALTH_GRACE, healthCheck } from '../../src/health/health-check.ts';
import type { HealthChecks } from '../../src/health/options.ts';

const never = (): Promise<never> => new Promise(() => {});

function timers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

describe('healthCheck', () => {
  it('is up when every check is up: sync values, promises, thenables', async () => {
    const report = await healthCheck({
      sync: () => 'fine',
      nothing: () => undefined,
      async: async () => ({ rows: [1] }),
      // biome-ignore lint/suspicious/noThenProperty: a hand-made thenable is the point
      thenable: () => ({ then: (resolve: (v: unknown) => void) => resolve(1) }),
    });
    assert.equal(report.status, 'up');
    assert.deepEqual(Object.keys(report.checks), ['sync', 'nothing', 'async', 'thenable']);
    for (const r of Object.values(report.checks)) {
      assert.equal(r.status, 'up');
      assert.equal(typeof r.latency, 'number');
      assert.ok(r.latency >= 0);
      assert.deepEqual(Object.keys(r).sort(), ['latency', 'status']);
    }
  });

  it('reports a failure with the layer and code of its error, the others still up', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const report = await healthCheck({
      db: () => Promise.reject(refused),
      dns: () => {
        throw new BulwarkError({ layer: 'dns', code: 'DNS_NOT_FOUND' });
      },
      cache: () => 'PONG',
    });
    assert.equal(report.status, 'down');
    assert.deepEqual(report.checks.db, {
      status: 'down',
      latency: report.checks.db!.latency,
      layer: 'tcp',
      code: 'TCP_REFUSED',
      error: 'Error: connect ECONNREFUSED 127.0.0.1:5432',
    });
    assert.equal(report.checks.dns!.layer, 'dns');
    assert.equal(report.checks.dns!.code, 'DNS_NOT_FOUND');
    assert.equal(report.checks.cache!.status, 'up');
  });

  it('reports the innermost classified cause, with the wrapping error beside it in via', async () => {
    const econnrefused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const refused = new BulwarkError({ layer: 'tcp', code: 'TCP_REFUSED', cause: econnrefused });
    const createFailed = new BulwarkError({
      layer: 'pool',
      code: 'POOL_CREATE_FAILED',
      message: 'POOL_CREATE_FAILED: no connection could be opened — pool "db": TCP_REFUSED',
      cause: refused,
    });
    const auth = Object.assign(new Error('password authentication failed'), {
      code: '28P01',
      severity: 'FATAL',
    });
    const report = await healthCheck({
      db: () => Promise.reject(createFailed),
      circuit: () =>
        Promise.reject(new BulwarkError({ layer: 'circuit', code: 'CIRCUIT_OPEN', cause: createFailed })),
      auth: () =>
        Promise.reject(new BulwarkError({ layer: 'pool', code: 'POOL_CREATE_FAILED', cause: auth })),
      plain: () => Promise.reject(refused),
    });
    assert.deepEqual(report.checks.db, {
      status: 'down',
      latency: report.checks.db!.latency,
      layer: 'tcp',
      code: 'TCP_REFUSED',
      via: { layer: 'pool', code: 'POOL_CREATE_FAILED' },
      error: createFailed.message,
    });
    assert.deepEqual(
      {
        layer: report.checks.circuit!.layer,
        code: report.checks.circuit!.code,
        via: report.checks.circuit!.via,
      },
      { layer: 'tcp', code: 'TCP_REFUSED', via: { layer: 'circuit', code: 'CIRCUIT_OPEN' } },
      'the outermost wrapper is the one beside it',
    );
    assert.deepEqual(
      { layer: report.checks.auth!.layer, code: report.checks.auth!.code, via: report.checks.auth!.via },
      { layer: 'pool', code: 'POOL_CREATE_FAILED', via: undefined },
      'a cause in no layer (a wrong password) says nothing more',
    );
    assert.equal(report.checks.plain!.via, undefined, 'a cause with the same code is no wrapper');
  });

  it('a check that throws synchronously is down (layer app), not a crash', async () => {
    const report = await healthCheck({
      boom: () => {
        throw new TypeError('cannot read properties of undefined');
      },
      odd: () => {
        throw 'a string';
      },
    });
    assert.equal(report.status, 'down');
    assert.deepEqual(report.checks.boom, {
      status: 'down',
      latency: report.checks.boom!.latency,
      layer: 'app',
      error: 'TypeError: cannot read properties of undefined',
    });
    assert.equal(report.checks.odd!.error, 'a string');
  });

  it('a check that returns false is down', async () => {
    const report = await healthCheck({ flag: () => false, later: async () => false });
    assert.equal(report.checks.flag!.status, 'down');
    assert.equal(report.checks.later!.error, 'the check returned false');
  });

  it('a hanging check hits its deadline and is reported; the others still report', async () => {
    const started = performance.now();
    const report = await healthCheck(
      { hangs: never, quick: () => 'ok', slowButInTime: () => new Promise((r) => setTimeout(r, 20, 'ok')) },
      { timeout: 100 },
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 100 && elapsed < 100 + HEALTH_GRACE + 200, `took ${elapsed} ms`);
    assert.equal(report.status, 'down');
    assert.deepEqual(report.checks.hangs, {
      status: 'down',
      latency: report.checks.hangs!.latency,
      code: 'HEALTH_TIMEOUT',
      error: 'no answer within 100 ms',
      timedOut: true,
    });
    assert.equal(report.checks.quick!.status, 'up');
    assert.equal(report.checks.slowButInTime!.status, 'up');
  });

  it('aborts the signal at the deadline; a check that rejects with its reason is HEALTH_TIMEOUT', async () => {
    let reason: unknown;
    const report = await healthCheck(
      {
        polite: (signal) =>
          new Promise((_resolve, reject) => {
            signal.addEventListener('abort', () => {
              reason = signal.reason;
              reject(signal.reason);
            });
          }),
      },
      { timeout: 50 },
    );
    assert.ok(reason instanceof DOMException && reason.name === 'TimeoutError');
    assert.equal(report.checks.polite!.code, 'HEALTH_TIMEOUT');
    assert.equal(report.checks.polite!.layer, undefined);
    // It settled at the deadline: no grace period was waited out.
    assert.ok(report.checks.polite!.latency < 50 + HEALTH_GRACE);
  });

  it('a check whose own timeout fires at the deadline is reported with that layer and code', async () => {
    const report = await healthCheck(
      {
        tls: (_signal, { timeout }) =>
          new Promise((_resolve, reject) => {
            setTimeout(
              () => reject(new BulwarkError({ layer: 'tls', code: 'TLS_TIMEOUT', budget: 'total' })),
              timeout,
            );
          }),
      },
      { timeout: 60 },
    );
    assert.deepEqual(report.checks.tls, {
      status: 'down',
      latency: report.checks.tls!.latency,
      layer: 'tls',
      code: 'TLS_TIMEOUT',
      error: 'TLS_TIMEOUT: the TLS handshake did not complete in time (total budget exhausted)',
      timedOut: true,
    });
  });

  it('a check that succeeds after its deadline is still down', async () => {
    const report = await healthCheck(
      { late: () => new Promise((resolve) => setTimeout(resolve, 70, 'ok')) },
      { timeout: 50 },
    );
    assert.equal(report.checks.late!.status, 'down');
    assert.equal(report.checks.late!.code, 'HEALTH_TIMEOUT');
  });

  it('honours a per-check timeout and gives it to the check', async () => {
    const budgets: number[] = [];
    const report = await healthCheck(
      {
        short: {
          check: (_signal, { timeout }) => {
            budgets.push(timeout);
            return never();
          },
          timeout: 30,
        },
        long: (_signal, { timeout }) => {
          budgets.push(timeout);
          return new Promise((r) => setTimeout(r, 60, 'ok'));
        },
      },
      { timeout: 1_000 },
    );
    assert.deepEqual(budgets, [30, 1_000]);
    assert.equal(report.checks.short!.code, 'HEALTH_TIMEOUT');
    assert.equal(report.checks.long!.status, 'up');
  });

  it('redacts secrets in error messages', async () => {
    const report = await healthCheck({
      db: () =>
        Promise.reject(new Error('cannot connect to postgres://app:hunter2@db:5432/main?sslmode=require')),
    });
    assert.equal(
      report.checks.db!.error,
      'Error: cannot connect to postgres://[redacted]@db:5432/main?[redacted]',
    );
  });

  it('leaves no timer behind, whatever the checks did', async () => {
    const before = timers();
    await healthCheck(
      {
        hangs: never,
        throws: () => {
          throw new Error('x');
        },
        rejects: () => Promise.reject(new Error('y')),
        up: () => 1,
      },
      { timeout: 40 },
    );
    assert.equal(timers(), before);
  });

  it('with no checks, is up', async () => {
    assert.deepEqual(await healthCheck({}), { status: 'up', checks: {} });
  });
});

describe('healthCheck: validation', () => {
  const bad: [string, () => unknown, string][] = [
    ['checks not an object', () => healthCheck(null as unknown as HealthChecks), 'checks'],
    ['checks an array', () => healthCheck([() => 1] as unknown as HealthChecks), 'checks'],
    [
      'a check that is not a function',
      () => healthCheck({ db: 'SELECT 1' } as unknown as HealthChecks),
      'checks.db',
    ],
    [
      'a spec without check',
      () => healthCheck({ db: { timeout: 5 } } as unknown as HealthChecks),
      'checks.db.check',
    ],
    [
      'a spec with an unknown key',
      () => healthCheck({ db: { check: () => 1, retries: 2 } } as unknown as HealthChecks),
      'checks.db.retries',
    ],
    ['a spec timeout of 0', () => healthCheck({ db: { check: () => 1, timeout: 0 } }), 'checks.db.timeout'],
    ['timeout 0', () => healthCheck({}, { timeout: 0 }), 'options.timeout'],
    ['timeout negative', () => healthCheck({}, { timeout: -1 }), 'options.timeout'],
    ['timeout NaN', () => healthCheck({}, { timeout: Number.NaN }), 'options.timeout'],
    ['timeout Infinity', () => healthCheck({}, { timeout: Number.POSITIVE_INFINITY }), 'options.timeout'],
    ['timeout a string', () => healthCheck({}, { timeout: '100' as unknown as number }), 'options.timeout'],
    ['an unknown option', () => healthCheck({}, { timout: 100 } as never), 'options.timout'],
  ];
  for (const [what, call, path] of bad) {
    it(`throws InvalidOptionError synchronously for ${what}`, () => {
      assert.throws(call, (err: unknown) => err instanceof InvalidOptionError && err.path === path);
    });
  }
});

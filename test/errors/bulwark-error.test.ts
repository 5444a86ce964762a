// BulwarkError: only the taxonomy's layers and codes, defaults from the table, a brand that two
// installed copies share, a message that reads well, and toJSON() that never leaks a secret.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BULWARK_ERROR_BRAND,
  BulwarkError,
  type BulwarkErrorInit,
  isBulwarkError,
} from '../../src/errors/bulwark-error.ts';
import { classify } from '../../src/errors/classify.ts';
import { ERROR_CODE_LIST, ERROR_CODES, type ErrorCode, LAYERS, type Layer } from '../../src/errors/codes.ts';

type ErrorModule = typeof import('../../src/errors/bulwark-error.ts');

/**
 * A second instance of the module, as a second installed copy of Bulwark would load: Node's ESM
 * loader caches modules by URL, so a query string gives a fresh module with its own class.
 */
async function secondCopy(): Promise<ErrorModule> {
  const specifier = '../../src/errors/bulwark-error.ts?copy=2';
  return (await import(specifier)) as ErrorModule;
}

const layerOf = (code: ErrorCode): Layer => ERROR_CODES[code].layer;
const make = (code: ErrorCode, init: Partial<BulwarkErrorInit> = {}) =>
  new BulwarkError({ layer: layerOf(code), code, ...init });

describe('BulwarkError accepts only the layers and codes of the unions', () => {
  test('every code with its own layer', () => {
    for (const code of ERROR_CODE_LIST) {
      const err = make(code);
      assert.equal(err.code, code);
      assert.equal(err.layer, layerOf(code));
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'BulwarkError');
    }
  });

  test('a code from another layer is rejected, naming the layer it belongs to', () => {
    for (const code of ERROR_CODE_LIST) {
      for (const layer of LAYERS.filter((l) => l !== layerOf(code))) {
        assert.throws(() => new BulwarkError({ layer, code }), {
          name: 'TypeError',
          message: `BulwarkError: code ${code} belongs to layer ${layerOf(code)}, not ${layer}`,
        });
      }
    }
  });

  test("'app' is classify()'s word, not a layer a BulwarkError can have", () => {
    assert.throws(() => new BulwarkError({ layer: 'app' as Layer, code: 'TCP_RESET' }), {
      name: 'TypeError',
      message: 'BulwarkError: unknown layer "app"',
    });
  });

  test('any other layer or code value is a TypeError saying which', () => {
    const anything = fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true });
    fc.assert(
      fc.property(anything, (value) => {
        fc.pre(!(LAYERS as readonly unknown[]).includes(value));
        assert.throws(() => new BulwarkError({ layer: value as Layer, code: 'TCP_RESET' }), {
          name: 'TypeError',
          message: /^BulwarkError: unknown layer /,
        });
      }),
    );
    fc.assert(
      fc.property(anything, (value) => {
        fc.pre(!(ERROR_CODE_LIST as readonly unknown[]).includes(value));
        assert.throws(() => new BulwarkError({ layer: 'tcp', code: value as never }), {
          name: 'TypeError',
          message: /^BulwarkError: unknown code /,
        });
      }),
    );
    assert.throws(() => new BulwarkError({ layer: 'tcp', code: 'ECONNRESET' as never }), {
      message: 'BulwarkError: unknown code "ECONNRESET"',
    });
  });
});

describe('defaults and fields', () => {
  test('retryable and mayHaveExecuted default to the table; attempts to 1', () => {
    for (const code of ERROR_CODE_LIST) {
      const err = make(code);
      assert.deepEqual(
        [err.retryable, err.mayHaveExecuted, err.attempts],
        [ERROR_CODES[code].retryable, ERROR_CODES[code].mayHaveExecuted, 1],
      );
    }
  });

  test('explicit values win, false included', () => {
    const err = make('TCP_RESET', { retryable: false, mayHaveExecuted: false, attempts: 3 });
    assert.deepEqual([err.retryable, err.mayHaveExecuted, err.attempts], [false, false, 3]);
    const other = make('TLS_UNTRUSTED', { retryable: true, mayHaveExecuted: true });
    assert.deepEqual([other.retryable, other.mayHaveExecuted], [true, true]);
  });

  test('optional fields are kept when given and absent when not', () => {
    const bare = make('DNS_TIMEOUT');
    for (const key of ['budget', 'target', 'request', 'timings', 'status', 'cause']) {
      assert.equal(Object.hasOwn(bare, key), false, key);
    }
    const target = {
      origin: 'https://api.example.com',
      host: 'api.example.com',
      address: '10.0.0.7',
      port: 443,
    };
    const timings = { dns: 1, connect: 2, tls: 3, ttfb: 40, total: 41, reused: false };
    const full = make('HTTP_STATUS', { budget: 'attempt', target, timings, status: 503 });
    assert.deepEqual(
      [full.budget, full.target, full.timings, full.status],
      ['attempt', target, timings, 503],
    );
  });

  test('request.path never keeps the query string or fragment', () => {
    const err = make('HTTP_HEADERS_TIMEOUT', { request: { method: 'POST', path: '/v1/pay?card=4111#x' } });
    assert.deepEqual(err.request, { method: 'POST', path: '/v1/pay' });
  });

  test('the cause is preserved as given (same object), also through toJSON', () => {
    const original = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:443'), { code: 'ECONNREFUSED' });
    const err = make('TCP_REFUSED', { cause: original });
    assert.equal(err.cause, original);
    assert.deepEqual(err.toJSON().cause, { name: 'Error', message: original.message, code: 'ECONNREFUSED' });
    const fromString = make('TCP_REFUSED', { cause: 'plain string' });
    assert.equal(fromString.cause, 'plain string');
  });

  test('every nested BulwarkError cause keeps its layer and code in toJSON', async () => {
    const driver = Object.assign(new Error('connect ECONNREFUSED 10.0.0.7:5432'), { code: 'ECONNREFUSED' });
    const tcp = make('TCP_REFUSED', { cause: driver });
    const { BulwarkError: Other } = await secondCopy();
    const circuit = new Other({ layer: 'circuit', code: 'CIRCUIT_OPEN', cause: tcp });
    const pool = make('POOL_CREATE_FAILED', { cause: circuit });
    const json = pool.toJSON() as { cause: Record<string, unknown> };
    assert.equal(json.cause.layer, 'circuit', 'a BulwarkError from another installed copy too');
    assert.equal(json.cause.code, 'CIRCUIT_OPEN');
    const inner = json.cause.cause as Record<string, unknown>;
    assert.deepEqual(
      { layer: inner.layer, code: inner.code, name: inner.name },
      { layer: 'tcp', code: 'TCP_REFUSED', name: 'BulwarkError' },
    );
    assert.deepEqual(inner.cause, { name: 'Error', message: driver.message, code: 'ECONNREFUSED' });
    assert.ok(!('layer' in (inner.cause as object)), 'a foreign error gets no layer it does not have');
  });
});

describe('the message reads well', () => {
  test('code, summary, budget, request and target, with the address', () => {
    const err = new BulwarkError({
      layer: 'tls',
      code: 'TLS_TIMEOUT',
      budget: 'total',
      request: { method: 'GET', path: '/v1/users?id=7' },
      target: { origin: 'https://api.example.com', host: 'api.example.com', address: '10.0.0.7', port: 443 },
    });
    assert.equal(
      err.message,
      'TLS_TIMEOUT: the TLS handshake did not complete in time (total budget exhausted) — GET /v1/users to https://api.example.com (10.0.0.7:443)',
    );
  });

  test('an IPv6 address in brackets; a status; a phase budget goes unsaid', () => {
    const err = new BulwarkError({
      layer: 'http',
      code: 'HTTP_STATUS',
      status: 503,
      budget: 'phase',
      target: { origin: 'http://[::1]:8080', host: '::1', address: '::1', port: 8080 },
    });
    assert.equal(
      err.message,
      'HTTP_STATUS: the server answered with an error status (when asked to throw) (status 503) to http://[::1]:8080 ([::1]:8080)',
    );
  });

  test('just the code and summary when nothing else is known', () => {
    assert.equal(
      make('CIRCUIT_OPEN').message,
      'CIRCUIT_OPEN: the circuit breaker for this origin is open; no request was sent',
    );
  });

  test('a message given is used as is, redacted', () => {
    const err = make('TCP_RESET', { message: 'reset by https://bob:hunter2@db.internal/x?k=v' });
    assert.equal(err.message, 'reset by https://[redacted]@db.internal/x?[redacted]');
  });
});

describe('isBulwarkError across installed copies', () => {
  test('a second module instance is really a different copy', async () => {
    const copy = await secondCopy();
    assert.notEqual(copy.BulwarkError, BulwarkError, 'the query string gives a fresh module instance');
    assert.equal(copy.BULWARK_ERROR_BRAND, BULWARK_ERROR_BRAND, 'Symbol.for: one brand for every copy');
    const theirs = new copy.BulwarkError({ layer: 'tcp', code: 'TCP_RESET' });
    assert.equal(theirs instanceof BulwarkError, false, 'instanceof cannot see across copies');
  });

  test('each copy recognises the other, and classify() reads the other copy’s fields', async () => {
    const copy = await secondCopy();
    const theirs = new copy.BulwarkError({ layer: 'dns', code: 'DNS_TIMEOUT', mayHaveExecuted: false });
    const ours = new BulwarkError({ layer: 'pool', code: 'POOL_QUEUE_FULL' });
    assert.equal(isBulwarkError(theirs), true);
    assert.equal(copy.isBulwarkError(ours), true);
    assert.deepEqual(classify(theirs), {
      layer: 'dns',
      code: 'DNS_TIMEOUT',
      retryable: true,
      mayHaveExecuted: false,
    });
    assert.equal(JSON.parse(JSON.stringify(theirs)).code, 'DNS_TIMEOUT');
  });

  test('false for look-alikes without the brand, or with a brand that is not exactly true', () => {
    const lookalike = Object.assign(new Error('x'), {
      name: 'BulwarkError',
      layer: 'tcp',
      code: 'TCP_RESET',
    });
    assert.equal(isBulwarkError(lookalike), false, 'no name matching');
    assert.equal(isBulwarkError({ [BULWARK_ERROR_BRAND]: 'true' }), false);
    assert.equal(
      isBulwarkError({ [Symbol('bulwark.error')]: true }),
      false,
      'a local symbol is not the brand',
    );
    assert.equal(isBulwarkError({ [BULWARK_ERROR_BRAND]: true }), true, 'the brand alone decides');
  });

  test('never throws, for any value, throwing getters and hostile proxies included', () => {
    const throwing = Object.defineProperty({}, BULWARK_ERROR_BRAND, {
      get() {
        throw new Error('getter');
      },
    });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
        getPrototypeOf() {
          throw new Error('trap');
        },
      },
    );
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const value of [throwing, hostile, revoked]) assert.equal(isBulwarkError(value), false);
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withNullPrototype: true, withBoxedValues: true }),
        (value) => {
          assert.equal(isBulwarkError(value), false);
        },
      ),
    );
  });
});

describe('toJSON() is one log line without secrets', () => {
  const SECRET = 'hunter2-0xDEADBEEF';

  /** An error carrying `SECRET` in every place a secret can reach: message, cause chain, request, target. */
  function leaky(): BulwarkError {
    const root = new Error(
      `connect to postgres://app:${SECRET}@db.internal:5432/prod failed; password=${SECRET}`,
    );
    const middle = Object.assign(new Error(`request with Authorization: Bearer ${SECRET}`), {
      code: 'UND_ERR_SOCKET',
      cause: root,
    });
    const outer = new TypeError(`fetch failed: Cookie: theme=dark; session=${SECRET}`, { cause: middle });
    return new BulwarkError({
      layer: 'tcp',
      code: 'TCP_CLOSED',
      message: `lost https://user:${SECRET}@api.example.com/v1?token=${SECRET} Proxy-Authorization: Basic ${SECRET}`,
      target: {
        origin: `https://user:${SECRET}@api.example.com`,
        host: 'api.example.com',
        address: '10.0.0.7',
        port: 443,
      },
      request: { method: 'GET', path: `https://user:${SECRET}@api.example.com/v1/users?token=${SECRET}` },
      cause: outer,
      attempts: 2,
    });
  }

  test('no secret in the JSON, the message or the stack', () => {
    const err = leaky();
    const line = JSON.stringify(err);
    assert.ok(!line.includes(SECRET), line);
    assert.ok(!err.message.includes(SECRET), err.message);
    assert.ok(!String(err.stack).includes(SECRET));
    assert.ok(!JSON.stringify(err.target).includes(SECRET), 'the target field itself');
    assert.ok(!JSON.stringify(err.request).includes(SECRET), 'the request field itself');
  });

  test('what is left still says what happened, down the cause chain', () => {
    const json = leaky().toJSON();
    assert.deepEqual(json.request, { method: 'GET', path: 'https://[redacted]@api.example.com/v1/users' });
    assert.deepEqual(json.target, {
      origin: 'https://[redacted]@api.example.com',
      host: 'api.example.com',
      address: '10.0.0.7',
      port: 443,
    });
    assert.deepEqual(json.cause, {
      name: 'TypeError',
      message: 'fetch failed: Cookie: [redacted]',
      cause: {
        name: 'Error',
        message: 'request with Authorization: [redacted]',
        code: 'UND_ERR_SOCKET',
        cause: {
          name: 'Error',
          message: 'connect to postgres://[redacted]@db.internal:5432/prod failed; password=[redacted]',
        },
      },
    });
  });

  test('is valid JSON: a JSON.stringify round trip gives toJSON() back', () => {
    const err = make('HTTP_BODY_TIMEOUT', {
      budget: 'phase',
      status: 200,
      target: { origin: 'http://127.0.0.1:8080', host: '127.0.0.1', port: 8080 },
      request: { method: 'GET', path: '/stream' },
      timings: { dns: 0, connect: 1, tls: 0, ttfb: 5, total: 30_005, reused: true },
      attempts: 3,
      cause: Object.assign(new Error('Body Timeout Error'), { code: 'UND_ERR_BODY_TIMEOUT' }),
    });
    const json = err.toJSON();
    assert.deepEqual(JSON.parse(JSON.stringify(err)), json);
    assert.deepEqual(Object.keys(json), [
      ...['name', 'message', 'layer', 'code', 'retryable', 'mayHaveExecuted', 'attempts', 'budget', 'status'],
      ...['target', 'request', 'timings', 'cause'],
    ]);
  });

  test('causes that cannot be read, are not errors, or loop still give valid JSON', () => {
    const hostile = new Proxy(new Error('x'), {
      get() {
        throw new Error('trap');
      },
    });
    const loop: { message: string; cause?: unknown } = { message: `loop password=${SECRET}` };
    loop.cause = loop;
    for (const cause of [hostile, `Authorization: Bearer ${SECRET}`, 42n, Symbol('s'), loop, [1, 2]]) {
      const line = JSON.stringify(make('TCP_CLOSED', { cause }));
      assert.ok(!line.includes(SECRET), line);
      assert.equal(JSON.parse(line).code, 'TCP_CLOSED');
    }
  });

  test('property: a secret placed anywhere a secret goes never reaches the log line', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{6,24}$/).map((s) => `sk_${s}`);
    const places: Array<(s: string) => Partial<BulwarkErrorInit>> = [
      (s) => ({ message: `https://alice:${s}@api.example.com/x` }),
      (s) => ({ message: `https://api.example.com/x?api_key=${s}&page=2` }),
      (s) => ({ message: `headers: authorization: Bearer ${s}` }),
      (s) => ({ message: `Proxy-Authorization: Basic ${s}` }),
      (s) => ({ message: `Cookie: lang=en; sid=${s}; theme=dark` }),
      (s) => ({ message: `{"cookie":"sid=${s}"}` }),
      (s) => ({ message: `Authorization: Digest username="bob", response="${s}"` }),
      (s) => ({ message: `connect failed: password=${s}` }),
      (s) => ({ message: `http://user:p@${s}@host.example/` }),
      (s) => ({ request: { method: 'GET', path: `/v1/items?token=${s}` } }),
      (s) => ({ request: { method: 'GET', path: `http://u:${s}@h.example/v1` } }),
      (s) => ({ target: { origin: `https://u:${s}@h.example`, host: 'h.example', port: 443 } }),
      (s) => ({ cause: new Error(`redis://default:${s}@cache:6379 unreachable`) }),
      (s) => ({ cause: new Error('outer', { cause: new Error(`set-cookie: sid=${s}; HttpOnly`) }) }),
    ];
    fc.assert(
      fc.property(secret, fc.constantFrom(...places), (s, place) => {
        const err = make('TCP_RESET', place(s));
        const line = JSON.stringify(err);
        assert.ok(!line.includes(s), line);
        assert.ok(!err.message.includes(s), err.message);
      }),
      { numRuns: 500 },
    );
  });
});

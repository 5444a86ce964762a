// Property-based: classify() never throws and always returns a classification consistent with
// the taxonomy, whatever it is given — arbitrary values, error look-alikes with the codes and
// messages of the real table, throwing getters, hostile proxies, cycles, deep chains, aggregates.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { BULWARK_ERROR_BRAND, BulwarkError } from '../../src/errors/bulwark-error.ts';
import { type Classification, classify } from '../../src/errors/classify.ts';
import { ERROR_CODE_LIST, ERROR_CODES, isErrorCode, LAYERS } from '../../src/errors/codes.ts';

/** Fails unless `c` is a classification the taxonomy allows, with nothing else on it. */
function assertValid(c: Classification): void {
  if (c.layer === 'app') {
    assert.deepEqual(Object.keys(c).sort(), ['aborted', 'code', 'layer', 'mayHaveExecuted', 'retryable']);
    assert.equal(c.code, null);
    assert.equal(c.retryable, false);
    assert.equal(c.mayHaveExecuted, true);
    assert.equal(typeof c.aborted, 'boolean');
    return;
  }
  assert.deepEqual(Object.keys(c).sort(), ['code', 'layer', 'mayHaveExecuted', 'retryable']);
  assert.ok(LAYERS.includes(c.layer), `layer ${String(c.layer)}`);
  assert.ok(isErrorCode(c.code), `code ${String(c.code)}`);
  assert.equal(ERROR_CODES[c.code].layer, c.layer, `${c.code} belongs to ${ERROR_CODES[c.code].layer}`);
  assert.equal(typeof c.retryable, 'boolean');
  assert.equal(typeof c.mayHaveExecuted, 'boolean');
}

/** classify() must not throw (an exception fails the property) and must return a valid result. */
function classifiesValidly(value: unknown): Classification {
  const c = classify(value);
  assertValid(c);
  return c;
}

// What real errors carry, so that generated look-alikes reach every rule of the table.
const CODES = [
  ...['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EPIPE'],
  ...['ENOTFOUND', 'ENODATA', 'ESERVFAIL', 'ETIMEOUT', 'EAI_AGAIN', 'EBADNAME', 'ECANCELLED', 'EINVAL'],
  ...['UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT'],
  ...['UND_ERR_ABORTED', 'UND_ERR_CLOSED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'HPE_INVALID_STATUS'],
  ...['CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'EPROTO'],
  ...['ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_TLS_HANDSHAKE_TIMEOUT', 'ABORT_ERR', 'PROTOCOL_CONNECTION_LOST'],
  ...['57P01', '08006', '42601', '53300', 'ER_PARSE_ERROR', 'TCP_REFUSED', 'constructor', '__proto__'],
];
const NAMES = [
  'Error',
  'TypeError',
  'AbortError',
  'TimeoutError',
  'HTTPParserError',
  'MaxRetriesPerRequestError',
];
const SYSCALLS = ['connect', 'read', 'write', 'bind', 'getaddrinfo', 'queryA', 'queryAaaa', 'resolve'];
const MESSAGES = [
  'fetch failed',
  'terminated',
  'timeout expired',
  'Connection terminated unexpectedly',
  'Connection terminated due to connection timeout',
  'Connection is closed.',
  'Connection was killed',
  'Client network socket disconnected before secure TLS connection was established',
];

/** Error look-alikes: any subset of the properties classify() reads, real values or junk. */
const errorLike = fc.letrec<{ err: Record<string, unknown> }>((tie) => ({
  err: fc.record(
    {
      name: fc.oneof(fc.constantFrom(...NAMES), fc.anything()),
      code: fc.oneof(fc.constantFrom(...CODES), fc.string(), fc.integer(), fc.anything()),
      syscall: fc.oneof(fc.constantFrom(...SYSCALLS), fc.anything()),
      message: fc.oneof(fc.constantFrom(...MESSAGES), fc.string(), fc.anything()),
      severity: fc.oneof(fc.constantFrom('ERROR', 'FATAL'), fc.anything()),
      errors: fc.oneof(fc.array(tie('err'), { maxLength: 3 }), fc.anything()),
      cause: fc.oneof({ depthSize: 'small' }, tie('err'), fc.anything()),
    },
    { requiredKeys: [] },
  ),
})).err;

const READ_KEYS = ['name', 'code', 'syscall', 'message', 'severity', 'errors', 'cause', 'layer', 'retryable'];

/** An object whose listed properties throw when read. */
function withThrowingGetters(base: Record<string, unknown>, keys: readonly string[]): object {
  const obj: object = { ...base };
  for (const key of keys) {
    Object.defineProperty(obj, key, {
      get() {
        throw new Error(`getter ${key} throws`);
      },
      enumerable: true,
    });
  }
  return obj;
}

/** A proxy on which every operation throws, including typeof-safe ones like getPrototypeOf. */
function hostileProxy<T extends object>(target: T): T {
  const trap = (): never => {
    throw new Error('trap');
  };
  return new Proxy(target, {
    get: trap,
    has: trap,
    ownKeys: trap,
    getOwnPropertyDescriptor: trap,
    getPrototypeOf: trap,
    defineProperty: trap,
    set: trap,
    deleteProperty: trap,
    isExtensible: trap,
    preventExtensions: trap,
    setPrototypeOf: trap,
    apply: trap,
    construct: trap,
  });
}

const refused = (): NodeJS.ErrnoException =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', syscall: 'connect' });

describe('classify() never throws and always answers within the taxonomy', () => {
  test('any value at all', () => {
    fc.assert(
      fc.property(
        fc.anything({
          withBoxedValues: true,
          withMap: true,
          withSet: true,
          withObjectString: true,
          withNullPrototype: true,
          withBigInt: true,
          withDate: true,
          withTypedArray: true,
          withSparseArray: true,
        }),
        (value) => {
          classifiesValidly(value);
        },
      ),
      { numRuns: 500 },
    );
  });

  test('error look-alikes built from the codes, names, syscalls and messages of real errors', () => {
    fc.assert(
      fc.property(errorLike, (err) => {
        classifiesValidly(err);
        classifiesValidly(Object.assign(new Error('x'), err));
      }),
      { numRuns: 1000 },
    );
  });

  test('the same input always gets the same answer', () => {
    fc.assert(
      fc.property(errorLike, (err) => {
        assert.deepEqual(classify(err), classify(err));
      }),
    );
  });

  test('objects whose properties throw when read', () => {
    fc.assert(
      fc.property(errorLike, fc.subarray(READ_KEYS, { minLength: 1 }), (err, keys) => {
        classifiesValidly(withThrowingGetters(err, keys));
        classifiesValidly(new TypeError('fetch failed', { cause: withThrowingGetters(err, keys) }));
      }),
    );
  });

  test('a property that throws counts as absent; the rest of the error still counts', () => {
    const err = withThrowingGetters({ message: 'Connection terminated unexpectedly' }, ['code']);
    assert.equal(classify(err).code, 'TCP_CLOSED', 'no readable code: the driver message rules apply');
    const wrapped = withThrowingGetters({ cause: refused() }, ['code', 'name', 'message']);
    assert.equal(classify(wrapped).code, 'TCP_REFUSED', 'the cause is still read');
  });

  test('proxies whose every trap throws, and revoked proxies', () => {
    fc.assert(
      fc.property(errorLike, (err) => {
        classifiesValidly(hostileProxy(err));
        classifiesValidly(hostileProxy(Object.assign(new Error('x'), err)));
        classifiesValidly(hostileProxy([err]));
        classifiesValidly(new TypeError('fetch failed', { cause: hostileProxy(err) }));
        classifiesValidly(new AggregateError([hostileProxy(err), err]));
        const { proxy, revoke } = Proxy.revocable(err, {});
        revoke();
        classifiesValidly(proxy);
        classifiesValidly({ errors: proxy, cause: proxy });
      }),
    );
    classifiesValidly(hostileProxy(() => {}));
  });

  test('cyclic cause chains of any length, and errors that are their own cause', () => {
    fc.assert(
      fc.property(fc.array(errorLike, { minLength: 1, maxLength: 10 }), (chain) => {
        const errs = chain.map((e) => ({ ...e }));
        errs.forEach((e, i) => {
          e.cause = errs[(i + 1) % errs.length];
        });
        classifiesValidly(errs[0]);
      }),
    );
    const self: Record<string, unknown> = { message: 'me' };
    self.cause = self;
    self.errors = [self, self];
    assert.equal(classify(self).layer, 'app');
  });

  test('deep cause chains: valid at any depth, and fetch-style wrappers are seen through', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), (depth) => {
        let err: unknown = refused();
        for (let i = 0; i < depth; i++) err = new Error(`wrapper ${i}`, { cause: err });
        const c = classifiesValidly(err);
        // Real wrappers are shallow (fetch failed ← cause; pg.Pool ← pg.Client): 3 levels are followed.
        if (depth <= 3) assert.equal(c.code, 'TCP_REFUSED');
      }),
    );
  });

  test('AggregateErrors: any contents; the first inner error that is not app decides', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(errorLike, fc.anything()), { maxLength: 12 }), (inner) => {
        classifiesValidly(new AggregateError(inner, 'all failed'));
        classifiesValidly(new TypeError('fetch failed', { cause: new AggregateError(inner) }));
      }),
    );
    // Happy eyeballs: ::1 refused, then 127.0.0.1 refused.
    const both = new AggregateError([new Error('plain app error'), refused(), new Error('unreachable')]);
    assert.equal(classify(both).code, 'TCP_REFUSED');
    assert.equal(classify(new AggregateError([])).layer, 'app');
  });

  test('the results are consistent with ERROR_CODES for every code a BulwarkError can carry', () => {
    for (const code of ERROR_CODE_LIST) {
      const info = ERROR_CODES[code];
      const err = new BulwarkError({ layer: info.layer, code });
      assert.deepEqual(classifiesValidly(err), {
        layer: info.layer,
        code,
        retryable: info.retryable,
        mayHaveExecuted: info.mayHaveExecuted,
      });
      const overridden = new BulwarkError({
        layer: info.layer,
        code,
        retryable: !info.retryable,
        mayHaveExecuted: false,
      });
      assert.deepEqual(classify(overridden), {
        layer: info.layer,
        code,
        retryable: !info.retryable,
        mayHaveExecuted: false,
      });
    }
  });

  test('branded objects with any fields: trusted only when layer and code agree with the table', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constantFrom(...LAYERS), fc.anything()),
        fc.oneof(fc.constantFrom(...ERROR_CODE_LIST), fc.anything()),
        fc.anything(),
        fc.anything(),
        (layer, code, retryable, mayHaveExecuted) => {
          const branded = { [BULWARK_ERROR_BRAND]: true, layer, code, retryable, mayHaveExecuted };
          const c = classifiesValidly(branded);
          if (isErrorCode(code) && ERROR_CODES[code].layer === layer) assert.equal(c.code, code);
          else assert.ok(!(c.layer === layer && c.code === code), 'an inconsistent pair is not echoed');
        },
      ),
    );
  });

  test('a BulwarkError look-alike from a newer copy with an unknown code is classified by its cause', () => {
    const fromNewer = {
      [BULWARK_ERROR_BRAND]: true,
      layer: 'tcp',
      code: 'TCP_SOMETHING_NEW',
      cause: refused(),
    };
    assert.deepEqual(classify(fromNewer), {
      layer: 'tcp',
      code: 'TCP_REFUSED',
      retryable: true,
      mayHaveExecuted: false,
    });
  });
});

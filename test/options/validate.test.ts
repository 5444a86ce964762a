// The option validation helpers: each returns its default for undefined, accepts what it should,
// and rejects bad input with an InvalidOptionError naming the option's path.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import {
  checkBoolean,
  checkDuration,
  checkFunction,
  checkNumber,
  checkObject,
  checkOneOf,
  checkString,
  checkThat,
} from '../../src/options/validate.ts';

/** Asserts that `run` throws an InvalidOptionError for `path` with `expected`, received `received`. */
function rejects(run: () => unknown, path: string, expected: string | RegExp, received?: string): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, `an InvalidOptionError, got ${String(err)}`);
    assert.ok(err instanceof TypeError);
    assert.equal(err.path, path);
    if (typeof expected === 'string') assert.equal(err.expected, expected);
    else assert.match(err.expected, expected);
    if (received !== undefined) assert.equal(err.received, received);
    assert.ok(err.message.startsWith(`${path} must be `), err.message);
    return true;
  });
}

describe('checkObject', () => {
  const allowed = ['limit', 'backoff'] as const;

  test('undefined gives {}; a plain object with known keys is returned as is (not copied)', () => {
    assert.deepEqual(checkObject(undefined, 'retry', allowed), {});
    const given = { limit: 2 };
    assert.equal(checkObject(given, 'retry', allowed), given);
    const bare = Object.assign(Object.create(null) as object, { backoff: {} });
    assert.equal(checkObject(bare, 'retry', allowed), bare);
  });

  test('an unknown key is named with its full path and the keys that are accepted', () => {
    rejects(
      () => checkObject({ limit: 1, limt: 2 }, 'retry', allowed),
      'retry.limt',
      'a known option (retry accepts limit, backoff)',
      '2',
    );
    rejects(
      () => checkObject({ retyr: {} }, '', ['retry']),
      'retyr',
      'a known option (options accepts retry)',
      'an object',
    );
  });

  test('anything that is not a plain object is rejected with the path', () => {
    for (const [value, received] of [
      [null, 'null'],
      [[], 'an array of length 0'],
      ['{}', '"{}"'],
      [1, '1'],
      [true, 'true'],
      [() => {}, 'a function'],
    ] as const) {
      rejects(() => checkObject(value, 'retry', allowed), 'retry', 'an object', received);
    }
  });
});

describe('checkNumber', () => {
  test('undefined gives the fallback; numbers within the rule are returned', () => {
    assert.equal(checkNumber(undefined, 'n', 7), 7);
    assert.equal(checkNumber(0, 'n', 7, { min: 0 }), 0);
    assert.equal(checkNumber(10, 'n', 7, { min: 0, max: 10, integer: true }), 10);
    assert.equal(checkNumber(-3.5, 'n', 7), -3.5);
    assert.equal(checkNumber(Number.POSITIVE_INFINITY, 'n', 7, { infinite: true }), Number.POSITIVE_INFINITY);
  });

  test('NaN is never a number', () => {
    rejects(() => checkNumber(Number.NaN, 'retry.limit', 2), 'retry.limit', 'a number', 'NaN');
    rejects(
      () => checkNumber(Number.NaN, 'retry.limit', 2, { infinite: true }),
      'retry.limit',
      'a number (or Infinity)',
      'NaN',
    );
  });

  test('Infinity only when allowed, and -Infinity never', () => {
    rejects(
      () => checkNumber(Number.POSITIVE_INFINITY, 'timeout.total', 1),
      'timeout.total',
      'a number',
      'Infinity',
    );
    rejects(
      () => checkNumber(Number.NEGATIVE_INFINITY, 'timeout.total', 1, { infinite: true }),
      'timeout.total',
      'a number (or Infinity)',
      '-Infinity',
    );
  });

  test('out of bounds, with the bounds in the expectation', () => {
    rejects(() => checkNumber(-1, 'retry.limit', 2, { min: 0 }), 'retry.limit', 'a number ≥ 0', '-1');
    rejects(() => checkNumber(11, 'p', 2, { max: 10 }), 'p', 'a number ≤ 10', '11');
    rejects(
      () => checkNumber(1.5, 'ratio', 0.1, { min: 0, max: 1, integer: false }),
      'ratio',
      'a number ≥ 0 and ≤ 1',
      '1.5',
    );
  });

  test('a fraction where an integer is required', () => {
    rejects(
      () => checkNumber(2.5, 'retry.limit', 2, { min: 0, integer: true }),
      'retry.limit',
      'an integer ≥ 0',
      '2.5',
    );
  });

  test('wrong types are rejected, never coerced', () => {
    for (const [value, received] of [
      ['5', '"5"'],
      [null, 'null'],
      [true, 'true'],
      [5n, '5n'],
      [[5], 'an array of length 1'],
      [{ valueOf: () => 5 }, 'an object'],
    ] as const) {
      rejects(() => checkNumber(value, 'retry.limit', 2), 'retry.limit', 'a number', received);
    }
  });

  test('property: a result is always a number the rule accepts; everything else throws', () => {
    const rule = fc.record(
      {
        min: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
        max: fc.double({ noNaN: true, min: -1e6, max: 1e6 }),
        integer: fc.boolean(),
        infinite: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.anything()), rule, (value, r) => {
        fc.pre(value !== undefined); // the fallback, tested above
        let result: number;
        try {
          result = checkNumber(value, 'x.y', 0, r);
        } catch (err) {
          assert.ok(err instanceof InvalidOptionError);
          assert.equal(err.path, 'x.y');
          return;
        }
        assert.equal(result, value);
        assert.equal(typeof result, 'number');
        assert.ok(!Number.isNaN(result));
        assert.ok(Number.isFinite(result) || (r.infinite === true && result === Number.POSITIVE_INFINITY));
        if (r.integer && Number.isFinite(result)) assert.ok(Number.isInteger(result));
        if (r.min !== undefined) assert.ok(result >= r.min);
        if (r.max !== undefined) assert.ok(result <= r.max);
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkDuration', () => {
  test('milliseconds ≥ 0 (or ≥ min); undefined gives the fallback', () => {
    assert.equal(checkDuration(undefined, 'timeout.dns', 2_000), 2_000);
    assert.equal(checkDuration(0, 'timeout.dns', 2_000), 0);
    assert.equal(checkDuration(1.5, 'timeout.dns', 2_000), 1.5);
    rejects(
      () => checkDuration(-1, 'timeout.dns', 2_000),
      'timeout.dns',
      'a number ≥ 0 and ≤ 2147483647',
      '-1',
    );
    rejects(
      () => checkDuration(5, 'keepAlive.idleTimeout', 4_000, 10),
      'keepAlive.idleTimeout',
      'a number ≥ 10 and ≤ 2147483647',
      '5',
    );
    rejects(
      () => checkDuration(Number.POSITIVE_INFINITY, 'timeout.dns', 2_000),
      'timeout.dns',
      'a number ≥ 0 and ≤ 2147483647',
      'Infinity',
    );
    rejects(
      () => checkDuration('100ms', 'timeout.dns', 2_000),
      'timeout.dns',
      'a number ≥ 0 and ≤ 2147483647',
      '"100ms"',
    );
  });
});

describe('checkBoolean, checkOneOf, checkString, checkFunction, checkThat', () => {
  test('checkBoolean: true or false only', () => {
    assert.equal(checkBoolean(undefined, 'throwHttpErrors', false), false);
    assert.equal(checkBoolean(true, 'throwHttpErrors', false), true);
    assert.equal(checkBoolean(false, 'throwHttpErrors', true), false);
    for (const [value, received] of [
      [0, '0'],
      ['false', '"false"'],
      [null, 'null'],
    ] as const) {
      rejects(
        () => checkBoolean(value, 'throwHttpErrors', false),
        'throwHttpErrors',
        'true or false',
        received,
      );
    }
  });

  test('checkOneOf: one of the literals, listed in the expectation', () => {
    const choices = ['full', 'equal', 'none'] as const;
    assert.equal(checkOneOf(undefined, 'retry.backoff.jitter', choices, 'full'), 'full');
    assert.equal(checkOneOf('none', 'retry.backoff.jitter', choices, 'full'), 'none');
    rejects(
      () => checkOneOf('FULL', 'retry.backoff.jitter', choices, 'full'),
      'retry.backoff.jitter',
      'one of "full", "equal", "none"',
      '"FULL"',
    );
    rejects(
      () => checkOneOf(1, 'retry.backoff.jitter', choices, 'full'),
      'retry.backoff.jitter',
      /^one of /,
      '1',
    );
  });

  test('checkString: non-empty, matching the pattern when given', () => {
    assert.equal(checkString(undefined, 'deadlineHeader', 'x-deadline'), 'x-deadline');
    assert.equal(checkString('x-timeout', 'deadlineHeader', 'x-deadline', /^[a-z-]+$/), 'x-timeout');
    rejects(() => checkString('', 'deadlineHeader', 'x'), 'deadlineHeader', 'a non-empty string', '""');
    rejects(
      () => checkString('X Y', 'deadlineHeader', 'x', /^[a-z-]+$/),
      'deadlineHeader',
      'a string matching /^[a-z-]+$/',
      '"X Y"',
    );
    rejects(() => checkString(42, 'deadlineHeader', 'x'), 'deadlineHeader', 'a non-empty string', '42');
  });

  test('checkFunction: a function, the fallback, or undefined when there is none', () => {
    const fallback = (): number => 1;
    const given = (): number => 2;
    assert.equal(checkFunction(undefined, 'clock.now', fallback), fallback);
    assert.equal(checkFunction(undefined, 'clock.now'), undefined);
    assert.equal(checkFunction(given, 'clock.now', fallback), given);
    rejects(() => checkFunction('now', 'clock.now', fallback), 'clock.now', 'a function', '"now"');
    rejects(() => checkFunction({}, 'clock.now'), 'clock.now', 'a function', 'an object');
  });

  test('checkThat: throws with the path and words given, only when not ok', () => {
    checkThat(true, 'retry.backoff.cap', 'anything', 1);
    rejects(
      () => checkThat(false, 'retry.backoff.cap', '≥ base (500)', 100),
      'retry.backoff.cap',
      '≥ base (500)',
      '100',
    );
  });
});

describe('the helpers never mutate what they are given', () => {
  test('a frozen options object passes through untouched', () => {
    const options = Object.freeze({ limit: 2, backoff: Object.freeze({ base: 100 }) });
    assert.equal(checkObject(options, 'retry', ['limit', 'backoff']), options);
    assert.equal(checkNumber(options.limit, 'retry.limit', 0, { min: 0, integer: true }), 2);
  });
});

// InvalidOptionError names the option path, what was expected and what was received; describeValue
// describes any value in a few safe words and never throws.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { describeValue, InvalidOptionError } from '../../src/errors/invalid-option-error.ts';

describe('InvalidOptionError', () => {
  test('is a TypeError naming the path, the expectation and the value received', () => {
    const err = new InvalidOptionError('retry.backoff.cap', 'a number ≥ 100', -1);
    assert.ok(err instanceof TypeError);
    assert.ok(err instanceof InvalidOptionError);
    assert.equal(err.name, 'InvalidOptionError');
    assert.equal(err.code, 'BULWARK_INVALID_OPTION');
    assert.deepEqual([err.path, err.expected, err.received], ['retry.backoff.cap', 'a number ≥ 100', '-1']);
    assert.equal(err.message, 'retry.backoff.cap must be a number ≥ 100; received -1');
    assert.match(String(err), /^InvalidOptionError: retry\.backoff\.cap must be/);
  });

  test('the received value is described, never dumped: a long string (a token) only by its length', () => {
    const token = `Bearer ${'x'.repeat(64)}`;
    const err = new InvalidOptionError('headers.authorization', 'a short string', token);
    assert.equal(err.received, 'a string of 71 characters');
    assert.ok(!err.message.includes(token));
  });

  test('any value can be received without the constructor throwing', () => {
    fc.assert(
      fc.property(
        fc.anything({ withBigInt: true, withBoxedValues: true, withMap: true, withSet: true }),
        (v) => {
          const err = new InvalidOptionError('x.y', 'something', v);
          assert.equal(err.received, describeValue(v));
          assert.ok(err.message.endsWith(`; received ${err.received}`));
        },
      ),
    );
  });
});

describe('describeValue', () => {
  test('each kind of value in a few words', () => {
    const cases: Array<[unknown, string]> = [
      [null, 'null'],
      [undefined, 'undefined'],
      [Number.NaN, 'NaN'],
      [Number.POSITIVE_INFINITY, 'Infinity'],
      [-0.5, '-0.5'],
      ['abc', '"abc"'],
      ['x'.repeat(41), 'a string of 41 characters'],
      [true, 'true'],
      [10n, '10n'],
      [() => {}, 'a function'],
      [Symbol('s'), 'Symbol(s)'],
      [[1, 2, 3], 'an array of length 3'],
      [{ password: 'hunter2' }, 'an object'],
      [new Date(0), 'an object'],
    ];
    for (const [value, words] of cases) assert.equal(describeValue(value), words);
  });

  test('never throws: any value, hostile proxies and revoked proxies', () => {
    const hostile = new Proxy([], {
      get() {
        throw new Error('trap');
      },
      getPrototypeOf() {
        throw new Error('trap');
      },
    });
    const { proxy: revoked, revoke } = Proxy.revocable([], {});
    revoke();
    assert.equal(typeof describeValue(hostile), 'string');
    assert.equal(describeValue(revoked), 'an unreadable value', 'Array.isArray throws on a revoked proxy');
    fc.assert(
      fc.property(
        fc.anything({
          withBigInt: true,
          withNullPrototype: true,
          withTypedArray: true,
          withSparseArray: true,
        }),
        (value) => {
          const words = describeValue(value);
          assert.equal(typeof words, 'string');
          if (typeof value === 'string' && value.length > 40)
            assert.equal(words, `a string of ${value.length} characters`);
        },
      ),
    );
  });
});

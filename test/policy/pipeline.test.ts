// The stage machinery on its own, over a call that is a plain object: compose folds stages
// outermost first, a continuation is made once per outer `done`, any value but OK is a failure
// (null and undefined included), and promised/settleFrom go to promises and back.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compose,
  continuation,
  type Done,
  type Handler,
  OK,
  promised,
  type Stage,
  settleFrom,
} from '../../src/policy/pipeline.ts';

interface FakeCall {
  trail: string[];
}

/** A stage that writes its name on the way in and on the way out. */
const tracing =
  (name: string): Stage<FakeCall, string> =>
  (next) => {
    const after = continuation<FakeCall, string>((done) => (call, err, result) => {
      call.trail.push(`${name}<`);
      done(call, err, result);
    });
    return (call, done) => {
      call.trail.push(`${name}>`);
      next(call, after(done));
    };
  };

const answer =
  (err: unknown, result?: string): Handler<FakeCall, string> =>
  (call, done) => {
    call.trail.push('transport');
    done(call, err, result);
  };

function run(handler: Handler<FakeCall, string>): { call: FakeCall; outcome: unknown[] } {
  const call: FakeCall = { trail: [] };
  const outcome: unknown[] = [];
  handler(call, (_c, err, result) => outcome.push(err, result));
  return { call, outcome };
}

describe('pipeline', () => {
  it('compose folds the stages outermost first around the innermost handler', () => {
    const { call, outcome } = run(compose([tracing('a'), tracing('b')], answer(OK, 'done')));
    assert.deepEqual(call.trail, ['a>', 'b>', 'transport', 'b<', 'a<']);
    assert.deepEqual(outcome, [OK, 'done']);
  });

  it('any value but OK is a failure, null and undefined included', () => {
    for (const err of [null, undefined, 0, '', new Error('x')]) {
      const { outcome } = run(compose([tracing('a')], answer(err)));
      assert.equal(outcome.length, 2);
      assert.equal(outcome[0], err);
      assert.notEqual(outcome[0], OK);
    }
  });

  it('a continuation is made once per outer done, not once per call', () => {
    let made = 0;
    const make = continuation<FakeCall, string>((done) => {
      made++;
      return done;
    });
    const done: Done<FakeCall, string> = () => {};
    const other: Done<FakeCall, string> = () => {};
    assert.equal(make(done), make(done));
    assert.equal(made, 1);
    make(other);
    assert.equal(made, 2);
  });

  it('promised turns a handler into a promise; settleFrom passes a promise on to done', async () => {
    const ok = promised(answer(OK, 'value'));
    assert.equal(await ok({ trail: [] }), 'value');
    const failing = promised(answer(null));
    await assert.rejects(failing({ trail: [] }), (err) => err === null);
    const seen: unknown[] = [];
    const call: FakeCall = { trail: [] };
    settleFrom(Promise.resolve('r'), call, (_c, err, result) => seen.push(err, result));
    settleFrom(Promise.reject(undefined), call, (_c, err) => seen.push(err));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [OK, 'r', undefined]);
  });
});

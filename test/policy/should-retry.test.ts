// `retry.shouldRetry` against the retry stage's safety rules, as a table: what the caller's rule
// says (true, false, undefined) × the failure (a response, a network failure that may or may not
// have executed, the caller's own error, an open breaker) × the call (idempotent or opted in by
// `retry.methods` / an Idempotency-Key, a one-shot body, an empty budget, a near deadline, the
// limit). The rule may narrow anything and widen only what the rules allow; a fake call on a
// virtual clock drives the stage (the client's own wiring is in test/client/hooks.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BulwarkError } from '../../src/errors/bulwark-error.ts';
import type { ErrorCode } from '../../src/errors/codes.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { CallerFailure, FailedResponse } from '../../src/policy/failure.ts';
import { OK } from '../../src/policy/pipeline.ts';
import { type RetryCall, retryStage, Sleepers } from '../../src/policy/retry.ts';
import { RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { type RetryOptions, resolveRetry, type ShouldRetryContext } from '../../src/policy/retry-options.ts';

interface FakeCall extends RetryCall {
  attempts: number;
  staleSocket: boolean;
}

const LAYER: Record<string, BulwarkError['layer']> = { TCP: 'tcp', DNS: 'dns', CIR: 'circuit', HTT: 'http' };
const failure = (code: ErrorCode): BulwarkError =>
  new BulwarkError({ layer: LAYER[code.slice(0, 3)] ?? 'http', code } as never);

let disposed = 0;
const response = (status: number): FailedResponse<string> =>
  new FailedResponse(status, `response ${status}`, undefined, () => {
    disposed++;
  });

interface Outcome {
  err: unknown;
  call: FakeCall;
  asked: ShouldRetryContext[];
}

/** One call: attempt 1 fails with `first`, attempt 2 succeeds; the rule answers `verdict`. */
async function run(
  first: unknown,
  verdict: unknown,
  opts: { retry?: RetryOptions; call?: Partial<FakeCall>; emptyBudget?: boolean; second?: unknown } = {},
): Promise<Outcome> {
  const clock = new VirtualClock({ seed: 1 });
  const asked: ShouldRetryContext[] = [];
  const budget = new RetryBudget(resolveRetryBudget({ reserve: opts.emptyBudget ? 0 : 3 }), clock);
  const call: FakeCall = {
    config: {
      retry: resolveRetry(
        {
          backoff: { base: 100, cap: 1_000 },
          shouldRetry: (ctx: ShouldRetryContext) => {
            asked.push(ctx);
            if (verdict instanceof Error) throw verdict;
            return verdict as boolean | undefined;
          },
          ...opts.retry,
        },
        'retry',
        undefined,
      ),
    },
    signal: undefined,
    replayable: true,
    idempotent: true,
    method: 'GET',
    staleSocket: false,
    staleRetried: false,
    deadline: clock.now() + 30_000,
    attempts: 0,
    lastFailure: undefined,
    notRetried: undefined,
    origin: 'http://upstream.test',
    request: { method: 'GET', path: '/x' },
    state: { budget, stats: { retries: 0, budgetExhausted: 0 } },
    ...opts.call,
  };
  const script = [first, opts.second ?? OK];
  const handler = retryStage<FakeCall, string>(clock, { sleepers: new Sleepers() })((c, done) => {
    c.attempts++;
    const answer = script[c.attempts - 1];
    queueMicrotask(() => done(c, answer, answer === OK ? 'ok' : undefined));
  });
  const outcome = new Promise<unknown>((resolve) => handler(call, (_c, err) => resolve(err)));
  await clock.runAll();
  return { err: await outcome, call, asked };
}

const POST = { idempotent: false, method: 'POST' } as const;

/** [rule, failure, call, expected: 'retried' or the notRetried reason (undefined: not retryable)] */
const TABLE: [string, () => unknown, unknown, Parameters<typeof run>[2], string | undefined][] = [
  ['503 on GET, rule has no opinion', () => response(503), undefined, {}, 'retried'],
  ['503 on GET, rule says no', () => response(503), false, {}, 'should-retry'],
  ['503 on GET, rule says yes', () => response(503), true, {}, 'retried'],
  ['501 (not in statusCodes), rule says yes', () => response(501), true, {}, 'retried'],
  ['501 (not in statusCodes), rule has no opinion', () => response(501), undefined, {}, undefined],
  [
    '503 on POST, rule says yes: may have executed',
    () => response(503),
    true,
    { call: POST },
    'not-idempotent',
  ],
  [
    'reset on POST, rule says yes: may have executed',
    () => failure('TCP_RESET'),
    true,
    { call: POST },
    'not-idempotent',
  ],
  [
    '503 on POST listed in retry.methods (or with an Idempotency-Key), rule says yes',
    () => response(503),
    true,
    { call: { method: 'POST', idempotent: true } },
    'retried',
  ],
  [
    'refused on POST (never executed), rule says yes',
    () => failure('TCP_REFUSED'),
    true,
    { call: POST },
    'retried',
  ],
  [
    'refused on POST (never executed), rule says no',
    () => failure('TCP_REFUSED'),
    false,
    { call: POST },
    'should-retry',
  ],
  ['DNS_NOT_FOUND (not retryable), rule says yes', () => failure('DNS_NOT_FOUND'), true, {}, 'retried'],
  ['DNS_NOT_FOUND (not retryable), rule says no', () => failure('DNS_NOT_FOUND'), false, {}, undefined],
  ['CIRCUIT_OPEN, rule says yes: never retried', () => failure('CIRCUIT_OPEN'), true, {}, undefined],
  ["the caller's own error, rule says yes: never retried", () => new Error('app'), true, {}, undefined],
  [
    'one-shot body, rule says yes',
    () => response(503),
    true,
    { call: { replayable: false } },
    'one-shot-body',
  ],
  ['empty budget, rule says yes', () => response(503), true, { emptyBudget: true }, 'budget-exhausted'],
  [
    'deadline too near for the backoff, rule says yes',
    () => response(503),
    true,
    { call: { deadline: 50 }, retry: { backoff: { jitter: 'none', base: 100 } } },
    'deadline',
  ],
  [
    'limit used up, rule says yes',
    () => response(503),
    true,
    { retry: { limit: 1 }, second: 'again' },
    'limit',
  ],
  [
    'stale keep-alive connection, rule says no',
    () => failure('TCP_RESET'),
    false,
    { call: { staleSocket: true } },
    'should-retry',
  ],
];

describe('retry.shouldRetry: the safety rules', () => {
  for (const [name, make, verdict, opts, expected] of TABLE) {
    it(`${name} → ${expected ?? 'not retryable'}`, async () => {
      const first = make();
      // 'again': the second attempt fails as the first did, to reach the limit.
      const second = opts?.second === 'again' ? response(503) : undefined;
      const r = await run(first, verdict, { ...opts, ...(second ? { second } : {}) });
      if (expected === 'retried') {
        assert.equal(r.err, OK);
        assert.equal(r.call.attempts, 2);
        assert.equal(r.call.state.stats.retries, 1);
      } else {
        assert.equal(r.err, second ?? first);
        assert.equal(r.call.notRetried, expected);
        if (expected !== 'limit') assert.equal(r.call.attempts, 1);
      }
    });
  }

  it('is asked with the error or the response, the attempt and the method', async () => {
    const err = failure('TCP_REFUSED');
    const a = await run(err, undefined, { call: POST });
    assert.deepEqual(a.asked, [{ error: err, response: undefined, attempt: 1, method: 'POST' }]);
    const b = await run(response(502), undefined);
    assert.deepEqual(b.asked, [{ error: undefined, response: 'response 502', attempt: 1, method: 'GET' }]);
  });

  it('is not asked about the caller’s own errors or an open breaker', async () => {
    assert.equal((await run(new Error('app'), true)).asked.length, 0);
    assert.equal((await run(failure('CIRCUIT_OPEN'), true)).asked.length, 0);
  });

  it('saying no spends no budget token', async () => {
    const r = await run(response(503), false);
    assert.equal(r.call.state.budget?.level, 3);
  });

  it('a rule that throws fails the call with its error (wrapped for the policies), the response discarded', async () => {
    const before = disposed;
    const boom = new Error('boom');
    const r = await run(response(503), boom);
    assert.ok(r.err instanceof CallerFailure);
    assert.equal((r.err as CallerFailure).error, boom);
    assert.equal(disposed, before + 1);
    assert.equal(r.call.attempts, 1);
  });

  it('a rule that answers anything but true, false or undefined fails the call', async () => {
    for (const answer of ['yes', 1, null, Promise.resolve(true)]) {
      const r = await run(response(503), answer);
      assert.ok(r.err instanceof CallerFailure, String(answer));
      assert.ok((r.err as CallerFailure).error instanceof InvalidOptionError);
      assert.match(String((r.err as CallerFailure).error), /retry\.shouldRetry/);
    }
  });

  it('is validated as a function; retry.methods as method names', () => {
    assert.throws(() => resolveRetry({ shouldRetry: true }, 'retry', undefined), /retry\.shouldRetry/);
    assert.throws(() => resolveRetry({ shouldRetry: null }, 'retry', undefined), /retry\.shouldRetry/);
    assert.throws(() => resolveRetry({ methods: 'POST' }, 'retry', undefined), /retry\.methods/);
    assert.throws(() => resolveRetry({ methods: ['PO ST'] }, 'retry', undefined), /retry\.methods\[0\]/);
    assert.throws(() => resolveRetry({ methods: [null] }, 'retry', undefined), /retry\.methods\[0\]/);
    const r = resolveRetry({ methods: ['post', 'GET'] }, 'retry', undefined);
    assert.deepEqual([...r.methods], ['POST', 'GET']);
    // As a request's method is compared: only fetch's standard names are upper-cased.
    const other = resolveRetry({ methods: ['patch', 'PATCH', 'put'] }, 'retry', undefined);
    assert.deepEqual([...other.methods], ['patch', 'PATCH', 'PUT']);
    // A call's own retry options keep the client's rule unless they set one.
    const rule = () => undefined;
    const base = resolveRetry({ shouldRetry: rule }, 'retry', undefined);
    assert.equal(resolveRetry({ limit: 1 }, 'retry', base).shouldRetry, rule);
  });
});

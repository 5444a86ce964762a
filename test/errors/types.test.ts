// The public error types: testing `layer` narrows `code` (on a BulwarkError and on classify()'s
// result), a code of another layer does not compile, and the runtime agrees with the types. The
// compile-time half is checked by `npm run typecheck` (the @ts-expect-error lines are the negative
// cases: each must stay an error); the runtime half runs here.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  BulwarkError,
  type BulwarkErrorOf,
  type CodeOfLayer,
  classify,
  ERROR_CODE_LIST,
  ERROR_CODES,
  type ErrorCode,
  isBulwarkError,
  LAYERS,
  type Layer,
} from '../../src/index.ts';

/** Compiles only when A and B are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(_: T): void => {};

type TlsCode =
  | 'TLS_CERT_EXPIRED'
  | 'TLS_CERT_NOT_YET_VALID'
  | 'TLS_HOSTNAME_MISMATCH'
  | 'TLS_UNTRUSTED'
  | 'TLS_HANDSHAKE_FAILED'
  | 'TLS_TIMEOUT';

expectType<Equal<CodeOfLayer<'tls'>, TlsCode>>(true);
expectType<Equal<CodeOfLayer<'circuit'>, 'CIRCUIT_OPEN' | 'CIRCUIT_THROTTLED'>>(true);
expectType<Equal<CodeOfLayer<Layer>, ErrorCode>>(true);
expectType<Equal<BulwarkErrorOf<'tls' | 'tcp'>, BulwarkError<'tls'> | BulwarkError<'tcp'>>>(true);
// A layer's error is a BulwarkError (the default), so it goes wherever one is expected.
const widen = (err: BulwarkError<'tls'>): BulwarkError => err;

/** What a user's catch block does: narrow by layer, then switch over that layer's codes. */
function describeFailure(err: unknown): string {
  if (!isBulwarkError(err)) return 'not ours';
  if (err.layer === 'tls') {
    expectType<Equal<typeof err.code, TlsCode>>(true);
    // @ts-expect-error a TCP code is not a TLS code
    const wrong: typeof err.code = 'TCP_REFUSED';
    void wrong;
    switch (err.code) {
      case 'TLS_CERT_EXPIRED':
        return 'renew the certificate';
      // @ts-expect-error comparing a TLS error's code with a DNS code is a type error
      case 'DNS_NOT_FOUND':
        return 'unreachable';
      default:
        return err.code;
    }
  }
  if (err.layer === 'circuit') {
    expectType<Equal<typeof err.code, 'CIRCUIT_OPEN' | 'CIRCUIT_THROTTLED'>>(true);
    return err.code;
  }
  expectType<Equal<typeof err.layer, Exclude<Layer, 'tls' | 'circuit'>>>(true);
  return err.code;
}

/** classify()'s result narrows the same way. */
function classifiedCode(err: unknown): CodeOfLayer<'dns'> | undefined {
  const c = classify(err);
  if (c.layer === 'dns') {
    expectType<Equal<typeof c.code, CodeOfLayer<'dns'>>>(true);
    return c.code;
  }
  if (c.layer === 'app') expectType<Equal<typeof c.code, null>>(true);
  return undefined;
}

// The constructor takes a code of the layer it is given, and infers the layer.
const tls = new BulwarkError({ layer: 'tls', code: 'TLS_UNTRUSTED' });
expectType<Equal<typeof tls, BulwarkError<'tls'>>>(true);
// @ts-expect-error a TCP code with the TLS layer does not compile (and throws at run time)
const mismatched = () => new BulwarkError({ layer: 'tls', code: 'TCP_REFUSED' });

describe('the error types', () => {
  test('a layer test narrows the code, and the runtime agrees with the table', () => {
    assert.equal(describeFailure(tls), 'TLS_UNTRUSTED');
    assert.equal(
      describeFailure(new BulwarkError({ layer: 'tls', code: 'TLS_CERT_EXPIRED' })),
      'renew the certificate',
    );
    assert.equal(
      describeFailure(new BulwarkError({ layer: 'circuit', code: 'CIRCUIT_OPEN' })),
      'CIRCUIT_OPEN',
    );
    assert.equal(describeFailure(new Error('x')), 'not ours');
    assert.equal(widen(tls).layer, 'tls');
    for (const code of ERROR_CODE_LIST) {
      const { layer } = ERROR_CODES[code];
      const err = new BulwarkError({ layer, code } as never) as BulwarkError;
      assert.equal(
        describeFailure(err),
        layer === 'tls' && code === 'TLS_CERT_EXPIRED' ? 'renew the certificate' : code,
      );
      assert.equal(classify(err).code, code);
      assert.ok(LAYERS.includes(err.layer));
    }
  });

  test('a code of another layer is refused at run time too', () => {
    assert.throws(mismatched, { name: 'TypeError', message: /TCP_REFUSED belongs to layer tcp, not tls/ });
  });

  test('classify() narrows by layer', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' });
    assert.equal(classifiedCode(err), 'DNS_NOT_FOUND');
    assert.equal(classifiedCode(new Error('app')), undefined);
  });
});

// The path hints on BulwarkError: evidence carried beside the code, in the message and toJSON(),
// validated like the code and layer are.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulwarkError, PATH_HINTS } from '../../src/errors/bulwark-error.ts';

describe('BulwarkError hint', () => {
  it('is in the message and in toJSON(), and changes neither code nor layer', () => {
    const err = new BulwarkError({ layer: 'http', code: 'HTTP_HEADERS_TIMEOUT', hint: 'mtu' });
    assert.equal(err.hint, 'mtu');
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.layer, 'http');
    assert.equal(err.toJSON().hint, 'mtu');
    assert.ok(err.message.endsWith(`[hint: mtu — ${PATH_HINTS.mtu}]`), err.message);
  });

  it('is absent unless given', () => {
    const err = new BulwarkError({ layer: 'tcp', code: 'TCP_TIMEOUT' });
    assert.equal(err.hint, undefined);
    assert.equal('hint' in err.toJSON(), false);
    assert.doesNotMatch(err.message, /hint/);
  });

  it('an unknown hint is a TypeError', () => {
    assert.throws(
      () => new BulwarkError({ layer: 'tcp', code: 'TCP_TIMEOUT', hint: 'cosmic-rays' as 'loss' }),
      /BulwarkError: unknown hint "cosmic-rays"/,
    );
  });
});

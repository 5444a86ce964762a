// The path hints on BulwarkError: evidence carried beside the code, in the message and toJSON(),
// validated like the code and layer are; and the rule that picks one for a timeout (the real
// sockets behind it are in mtu-blackhole.test.ts and test/transport/path-stats.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BulwarkError, PATH_HINTS, type PathHint } from '../../src/errors/bulwark-error.ts';
import type { ErrorCode } from '../../src/errors/codes.ts';
import { type HintedConnection, pathHintOf } from '../../src/errors/path-hint.ts';

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

describe('pathHintOf: which timeout carries which hint', () => {
  /** A connection's state as the hint reads it: a TCP socket's byte counters and the phase. */
  const conn = (o: Partial<HintedConnection> & { written?: number; read?: number }): HintedConnection => ({
    phase: o.phase ?? 'open',
    served: o.served ?? 0,
    wire: { bytesWritten: o.written ?? 0, bytesRead: o.read ?? 0 },
    writtenAtOpen: o.writtenAtOpen ?? 0,
    readAtOpen: o.readAtOpen ?? 0,
  });
  const cases: [string, ErrorCode, HintedConnection | undefined, boolean, PathHint | undefined][] = [
    [
      'a 1 583-byte ClientHello, nothing back',
      'TLS_TIMEOUT',
      conn({ phase: 'tls', written: 1_583 }),
      false,
      'mtu',
    ],
    [
      'a 517-byte ClientHello, nothing back',
      'TLS_TIMEOUT',
      conn({ phase: 'tls', written: 517 }),
      false,
      undefined,
    ],
    [
      'a large ClientHello, the server answered part',
      'TLS_TIMEOUT',
      conn({ phase: 'tls', written: 1_583, read: 90 }),
      false,
      undefined,
    ],
    ['a TLS timeout before the TCP connect', 'TLS_TIMEOUT', undefined, false, undefined],
    [
      '3 KB after the handshake on a fresh connection',
      'HTTP_HEADERS_TIMEOUT',
      conn({ written: 5_000, writtenAtOpen: 2_000, read: 900, readAtOpen: 900 }),
      false,
      'mtu',
    ],
    [
      'a small request on a fresh connection',
      'HTTP_HEADERS_TIMEOUT',
      conn({ written: 2_300, writtenAtOpen: 2_000 }),
      false,
      undefined,
    ],
    [
      '3 KB, part of a response came back',
      'HTTP_HEADERS_TIMEOUT',
      conn({ written: 3_000, read: 10 }),
      false,
      undefined,
    ],
    [
      '3 KB on a reused connection',
      'HTTP_HEADERS_TIMEOUT',
      conn({ written: 9_000, served: 2 }),
      false,
      undefined,
    ],
    ['a TCP timeout after SYN retransmits', 'TCP_TIMEOUT', undefined, true, 'loss'],
    ['a TCP timeout without them', 'TCP_TIMEOUT', undefined, false, undefined],
    ['any other code', 'TCP_RESET', conn({ written: 9_000 }), true, undefined],
  ];
  for (const [what, code, c, loss, hint] of cases) {
    it(`${code}, ${what}: ${hint ?? 'no hint'}`, () => {
      assert.equal(pathHintOf(code, c, { lossSeen: () => loss }), hint);
    });
  }
});

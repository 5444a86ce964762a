// The scheme hints: the pure rules, then the client's errors against real loopback servers — TLS
// spoken to a plain-HTTP port ('use-http'), plain HTTP to a port that answers with a TLS alert or
// closes on 443 ('use-https') — and none where the evidence is not there. It also pins what the
// 'use-https' rule reads of undici: its HTTPParserError's `data` (the bytes it could not parse),
// which undici's Errors.md does not document.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import {
  answeredInPlainText,
  isHttpsPortAnswer,
  isTlsRecord,
  SCHEME_HINTS,
  schemeHintOf,
} from '../../src/errors/scheme-hint.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { startRawServer } from '../helpers/raw-server.ts';

const ALERT = Buffer.from('15030300020228', 'hex'); // TLS 1.2 record: alert, fatal, handshake_failure
const wrongVersion = Object.assign(
  new Error('SSL routines:tls_validate_record_header:wrong version number'),
  {
    code: 'ERR_SSL_WRONG_VERSION_NUMBER',
  },
);

describe('scheme hints: the rules', () => {
  it('TLS answered in plain text says use http://', () => {
    assert.equal(answeredInPlainText(wrongVersion), true);
    assert.equal(answeredInPlainText({ code: 'ERR_SSL_PACKET_LENGTH_TOO_LONG' }), true);
    assert.equal(answeredInPlainText(new Error('boom')), false);
    assert.equal(schemeHintOf('https:', 8080, 'TLS_HANDSHAKE_FAILED', wrongVersion, true), 'use-http');
    // Another TLS failure, or the right scheme: no hint.
    assert.equal(schemeHintOf('https:', 8080, 'TLS_UNTRUSTED', wrongVersion, true), undefined);
    assert.equal(schemeHintOf('https:', 443, 'TLS_HANDSHAKE_FAILED', new Error('alert'), true), undefined);
  });

  it('plain HTTP answered with a TLS record, or closed on 443/8443 on a fresh connection, says use https://', () => {
    assert.equal(isTlsRecord(ALERT), true);
    assert.equal(isTlsRecord(ALERT.toString('latin1')), true);
    assert.equal(isTlsRecord('HTTP/1.1 200 OK'), false);
    assert.equal(isTlsRecord('\x15\x03'), false);
    assert.equal(isTlsRecord(undefined), false);
    const parse = { data: ALERT.toString('latin1') };
    assert.equal(schemeHintOf('http:', 8080, 'HTTP_PROTOCOL', parse, true), 'use-https');
    assert.equal(schemeHintOf('http:', 8080, 'HTTP_PROTOCOL', { data: 'garbage' }, true), undefined);
    assert.equal(schemeHintOf('http:', 443, 'TCP_CLOSED', new Error('closed'), true), 'use-https');
    assert.equal(schemeHintOf('http:', 8443, 'TCP_RESET', new Error('reset'), true), 'use-https');
    // A reused connection that closes is the keep-alive race; another port says nothing.
    assert.equal(schemeHintOf('http:', 443, 'TCP_CLOSED', new Error('closed'), false), undefined);
    assert.equal(schemeHintOf('http:', 8080, 'TCP_CLOSED', new Error('closed'), true), undefined);
  });

  it("an HTTPS server's 400 to a plain request", () => {
    assert.equal(isHttpsPortAnswer(400, '<h1>400 The plain HTTP request was sent to HTTPS port</h1>'), true);
    assert.equal(isHttpsPortAnswer(400, 'Client sent an HTTP request to an HTTPS server.\n'), true);
    assert.equal(isHttpsPortAnswer(400, 'bad request'), false);
    assert.equal(isHttpsPortAnswer(200, 'plain HTTP request was sent to HTTPS port'), false);
  });

  it('odd inputs never throw', () => {
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
      },
    );
    for (const value of [null, undefined, 0, '', hostile, Symbol('x')]) {
      assert.equal(answeredInPlainText(value), false);
      assert.equal(schemeHintOf('https:', 443, 'TLS_HANDSHAKE_FAILED', value, true), undefined);
      assert.equal(schemeHintOf('http:', 80, 'HTTP_PROTOCOL', value, true), undefined);
    }
  });

  it('a BulwarkError carries it, in its message and toJSON(); an unknown hint is refused', () => {
    const err = new BulwarkError({ layer: 'tls', code: 'TLS_HANDSHAKE_FAILED', hint: 'use-http' });
    assert.equal(err.hint, 'use-http');
    assert.ok(err.message.endsWith(`[hint: use-http — ${SCHEME_HINTS['use-http']}]`), err.message);
    assert.equal(err.toJSON().hint, 'use-http');
    assert.throws(
      () => new BulwarkError({ layer: 'tls', code: 'TLS_HANDSHAKE_FAILED', hint: 'nope' as never }),
      {
        name: 'TypeError',
        message: 'BulwarkError: unknown hint "nope"',
      },
    );
  });
});

describe('scheme hints: the client, against real servers', () => {
  it('https:// to a plain-HTTP port: TLS_HANDSHAKE_FAILED with hint use-http, fetch and request alike', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const url = `https://127.0.0.1:${server.port}/`;
    for (const call of [() => client.fetch(url), () => client.request(url)]) {
      const err = await call().then(
        () => assert.fail('expected a failure'),
        (e: unknown) => e,
      );
      assert.ok(isBulwarkError(err));
      assert.equal(err.layer, 'tls');
      assert.equal(err.code, 'TLS_HANDSHAKE_FAILED');
      assert.equal(err.hint, 'use-http');
      assert.match(err.message, /this port speaks plain HTTP, not TLS; use http:\/\//);
    }
  });

  it('http:// to a port that answers with a TLS alert: HTTP_PROTOCOL with hint use-https', async (t) => {
    const server = cleanup(t, await startRawServer((socket) => socket.once('data', () => socket.end(ALERT))));
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const err = await client.request(`http://127.0.0.1:${server.port}/`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'HTTP_PROTOCOL');
    assert.equal(err.hint, 'use-https');
    assert.match(err.message, /use https:\/\//);
  });

  it("undici's HTTPParserError carries the unparsed bytes as `data` (what the rule above reads)", async (t) => {
    const server = cleanup(t, await startRawServer((socket) => socket.once('data', () => socket.end(ALERT))));
    const undici = new Client(`http://127.0.0.1:${server.port}`);
    t.after(() => undici.destroy());
    const err = (await undici.request({ path: '/', method: 'GET' }).catch((e: unknown) => e)) as {
      name?: string;
      data?: unknown;
    };
    assert.equal(err.name, 'HTTPParserError');
    assert.equal(typeof err.data, 'string');
    assert.equal(isTlsRecord(err.data as string), true);
  });

  it('http:// to a TLS server on 443 that closes: TCP_CLOSED with hint use-https; on another port, no hint', async (t) => {
    const pki = await getTestPki();
    const elsewhere = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const other = await client.request(`http://127.0.0.1:${elsewhere.port}/`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(other));
    assert.equal(other.code, 'TCP_CLOSED');
    assert.equal(other.hint, undefined, 'a close on a port that is not conventionally TLS is no evidence');

    // Port 443 on a loopback address of its own (root can bind it; elsewhere the case is skipped).
    let on443: Awaited<ReturnType<typeof startHttpsServer>>;
    try {
      on443 = await startHttpsServer({ ...pki.valid, host: '127.0.71.43', port: 443 });
    } catch (err) {
      t.skip(`cannot listen on 127.0.71.43:443 (${(err as { code?: string }).code})`);
      return;
    }
    cleanup(t, on443);
    const closed = await client.request('http://127.0.71.43:443/').catch((e: unknown) => e);
    assert.ok(isBulwarkError(closed));
    assert.equal(closed.code, 'TCP_CLOSED');
    assert.equal(closed.hint, 'use-https');
  });
});

// `bulwark probe` when the URL's scheme does not match what the port speaks, against real loopback
// servers: https:// to a plain-HTTP server says "use http://", and http:// to an HTTPS server
// (which closes), to one that answers with a TLS alert, or to one that answers nginx's "plain HTTP
// request was sent to HTTPS port" 400 says "use https://" — in words on the layer's line and the
// last line, and as `hint` in the JSON. A plain server that just closes gets no hint.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProbeReport } from '../../src/probe/report.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { startRawServer } from '../helpers/raw-server.ts';
import { lastLine, layerLine, runCli } from './run-cli.ts';

const ALERT = Buffer.from('15030300020228', 'hex');
const NGINX_400 =
  'HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\nContent-Length: 96\r\nConnection: close\r\n\r\n' +
  '<html><body><center>The plain HTTP request was sent to HTTPS port</center></body></html>\r\n'.padEnd(
    96,
    ' ',
  );

async function probeBoth(url: string): Promise<{ text: string; code: number; report: ProbeReport }> {
  const text = await runCli(['probe', url, '--no-path']);
  const json = await runCli(['probe', url, '--no-path', '--json']);
  assert.equal(json.code, text.code);
  return { text: text.stdout, code: text.code, report: JSON.parse(json.stdout) as ProbeReport };
}

describe('bulwark probe: the scheme hint', () => {
  it('https:// to a plain-HTTP port: tls failed, "this port speaks plain HTTP; use http://"', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const { text, code, report } = await probeBoth(`https://127.0.0.1:${server.port}/`);
    assert.equal(code, 1);
    assert.match(
      layerLine(text, 'tls'),
      /failed .*TLS_HANDSHAKE_FAILED\s+this port speaks plain HTTP, not TLS; use http:\/\//,
    );
    assert.match(
      lastLine(text),
      /^failed at tls: TLS_HANDSHAKE_FAILED — this port speaks plain HTTP, not TLS; use http:\/\/ \(handshake failed: .*wrong version number/,
    );
    assert.equal(report.layers.tls.hint, 'use-http');
    assert.equal(report.layers.http.hint, null);
  });

  it('http:// to an HTTPS server that closes: http failed, checked with a handshake, "use https://"', async (t) => {
    const pki = await getTestPki();
    const server = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const { text, code, report } = await probeBoth(`http://127.0.0.1:${server.port}/`);
    assert.equal(code, 1);
    assert.match(
      layerLine(text, 'http'),
      /failed .*TCP_CLOSED\s+this port speaks TLS \(HTTPS\); use https:\/\//,
    );
    assert.match(
      lastLine(text),
      /^failed at http: TCP_CLOSED — this port speaks TLS \(HTTPS\); use https:\/\//,
    );
    assert.equal(report.layers.http.hint, 'use-https');
    assert.equal(report.layers.tls.hint, null);
  });

  it('http:// to a port that answers with a TLS alert: HTTP_PROTOCOL, "use https://"', async (t) => {
    const server = cleanup(t, await startRawServer((socket) => socket.once('data', () => socket.end(ALERT))));
    const { code, report } = await probeBoth(`http://127.0.0.1:${server.port}/`);
    assert.equal(code, 1);
    assert.equal(report.layers.http.code, 'HTTP_PROTOCOL');
    assert.equal(report.layers.http.hint, 'use-https');
    assert.match(report.layers.http.reason, /^this port speaks TLS \(HTTPS\); use https:\/\//);
  });

  it('http:// to nginx\'s HTTPS port 400: suspect, "use https://", exit 0 (1 with --strict)', async (t) => {
    const server = cleanup(
      t,
      await startRawServer((socket) => socket.once('data', () => socket.end(NGINX_400))),
    );
    const { text, code, report } = await probeBoth(`http://127.0.0.1:${server.port}/`);
    assert.equal(code, 0);
    assert.equal(report.verdict, 'suspect');
    assert.equal(report.layers.http.status, 400);
    assert.equal(report.layers.http.hint, 'use-https');
    assert.match(
      lastLine(text),
      /healthy, with warnings: http \(400 Bad Request: this port speaks TLS \(HTTPS\); use https:\/\/\)/,
    );
    const strict = await runCli(['probe', `http://127.0.0.1:${server.port}/`, '--no-path', '--strict']);
    assert.equal(strict.code, 1);
  });

  it('no hint where there is no evidence: a plain server that closes, a plain 400', async (t) => {
    const closes = cleanup(t, await startRawServer((socket) => socket.once('data', () => socket.destroy())));
    const a = await probeBoth(`http://127.0.0.1:${closes.port}/`);
    assert.equal(a.code, 1);
    assert.equal(a.report.layers.http.hint, null);
    assert.doesNotMatch(a.text, /use https/);
    const plain400 = cleanup(
      t,
      await startHttpServer({
        handler: (_req, res) => {
          res.statusCode = 400;
          res.end('missing parameter');
        },
      }),
    );
    const b = await probeBoth(`http://127.0.0.1:${plain400.port}/`);
    assert.equal(b.code, 0);
    assert.equal(b.report.verdict, 'healthy');
    assert.equal(b.report.layers.http.hint, null);
  });
});

// `bulwark probe -H 'name: value'` against a real loopback server: the headers reach the server on
// the http layer's request and on every path exchange, repeat when repeated, replace the probe's
// own when they name them; secret values never reach the output; bad headers are usage errors
// (exit 2) that do not echo the secret either; probe()'s `headers` option is validated the same way.
import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { redactHeaderValue } from '../../src/errors/redact.ts';
import { probe } from '../../src/probe/probe.ts';
import type { ProbeReport } from '../../src/probe/report.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { layerLine, runCli } from './run-cli.ts';

const TOKEN = 'eyJhbGciOi.s3cr3t-t0ken';

describe('bulwark probe --header', () => {
  it('sends each header on the request and the path exchanges; secrets are redacted in text and JSON', async (t) => {
    const seen: IncomingHttpHeaders[] = [];
    const raw: string[][] = [];
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          seen.push(req.headers);
          raw.push(req.rawHeaders);
          res.end('ok');
        },
      }),
    );
    const url = `http://127.0.0.1:${server.port}/health`;
    const flags = [
      '-H',
      `Authorization: Bearer ${TOKEN}`,
      '--header',
      'X-Tenant:acme',
      '-H',
      'x-tenant: beta',
      '-H',
      `X-Api-Key: ${TOKEN}`,
      '-H',
      'User-Agent: my-probe/1.0',
      '--samples',
      '0',
    ];
    const text = await runCli(['probe', url, ...flags]);
    assert.equal(text.code, 0, text.stdout + text.stderr);
    assert.ok(!text.stdout.includes(TOKEN) && !text.stdout.includes('s3cr3t'), text.stdout);
    assert.match(
      text.stdout,
      /sent authorization: Bearer \[redacted\] · x-tenant: acme · x-tenant: beta · x-api-key: \[redacted\]/,
    );
    assert.match(layerLine(text.stdout, 'http'), /ok/);

    // The http layer's request and the path layer's exchanges (4 sizes) all carried them.
    assert.ok(seen.length >= 5, `${seen.length} requests`);
    for (const headers of seen) {
      assert.equal(headers.authorization, `Bearer ${TOKEN}`);
      assert.equal(headers['x-tenant'], 'acme, beta');
      assert.equal(headers['x-api-key'], TOKEN);
      assert.equal(headers['user-agent'], 'my-probe/1.0', 'replaces the probe’s own');
    }
    for (const names of raw) {
      assert.equal(names.filter((n, i) => i % 2 === 0 && n.toLowerCase() === 'user-agent').length, 1);
    }

    const json = await runCli(['probe', url, '--json', ...flags]);
    assert.equal(json.code, 0);
    assert.ok(!json.stdout.includes(TOKEN), json.stdout);
    const report = JSON.parse(json.stdout) as ProbeReport;
    assert.equal(report.schema, 'bulwark.probe/v3');
    assert.deepEqual(report.layers.http.requestHeaders, [
      { name: 'authorization', value: 'Bearer [redacted]' },
      { name: 'x-tenant', value: 'acme' },
      { name: 'x-tenant', value: 'beta' },
      { name: 'x-api-key', value: '[redacted]' },
      { name: 'user-agent', value: 'my-probe/1.0' },
    ]);
  });

  it('a Host header is the one sent (virtual hosts)', async (t) => {
    const hosts: (string | undefined)[] = [];
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          hosts.push(req.headers.host);
          res.end('ok');
        },
      }),
    );
    const run = await runCli([
      'probe',
      `http://127.0.0.1:${server.port}/`,
      '-H',
      'Host: api.internal',
      '--samples',
      '0',
    ]);
    assert.equal(run.code, 0, run.stdout);
    assert.ok(hosts.length >= 5);
    assert.deepEqual(new Set(hosts), new Set(['api.internal']));
  });

  const bad: [string, string[], RegExp][] = [
    [
      'no colon',
      ['-H', `Authorization Bearer ${TOKEN}`],
      /--header must be 'name: value' \(a colon after the name\); received "Authorization" \.\.\. without a colon/,
    ],
    ['no name', ['-H', ': value'], /received no name before the colon/],
    ['a space in the name', ['-H', 'X Tenant: a'], /with a header name/],
    [
      'a line break in the value',
      ['-H', 'X-A: b\r\nInjected: 1'],
      /without line breaks, NUL or characters beyond Latin-1; received "X-A: b\\r\\nInjected: 1"/,
    ],
    ['a NUL in the value', ['-H', 'X-A: b\0'], /without line breaks, NUL or characters beyond Latin-1/],
    ['a character beyond Latin-1', ['-H', 'X-Currency: €'], /beyond Latin-1; received "X-Currency: €"/],
    [
      'a framing header',
      ['-H', 'Content-Length: 5'],
      /other than content-length, transfer-encoding, connection/,
    ],
    ['Transfer-Encoding', ['-H', 'transfer-encoding: chunked'], /the probe frames its own request/],
    [
      'a secret with a bad character',
      ['-H', `Authorization: Bearer ${TOKEN}\nX: 1`],
      /received "Authorization: Bearer \[redacted\]"/,
    ],
    ['a missing value', ['-H'], /Option '-H, --header <value>' argument missing/],
  ];
  for (const [name, flags, message] of bad) {
    it(`refuses ${name}: exit 2, the reason, and no secret`, async () => {
      const run = await runCli(['probe', 'http://127.0.0.1:9/', ...flags]);
      assert.equal(run.code, 2, run.stderr);
      assert.equal(run.stdout, '');
      assert.match(run.stderr, message);
      assert.match(run.stderr, /Usage: bulwark probe/);
      assert.ok(!run.stderr.includes('s3cr3t'), run.stderr);
    });
  }

  it("probe()'s headers option: records and pairs; bad input is an InvalidOptionError without the secret", async (t) => {
    const server = cleanup(t, await startHttpServer());
    const url = `http://127.0.0.1:${server.port}/`;
    const a = await probe(url, { headers: { 'X-One': '1' }, path: false });
    assert.deepEqual(a.layers.http.requestHeaders, [{ name: 'x-one', value: '1' }]);
    const b = await probe(url, {
      headers: [
        ['x-two', '2'],
        ['x-two', '3'],
      ],
      path: false,
    });
    assert.equal(b.layers.http.requestHeaders.length, 2);
    assert.equal(b.layers.http.verdict, 'ok');
    const cases: [unknown, RegExp][] = [
      [
        null,
        /^headers must be a record of header values or an array of \[name, value\] pairs; received null/,
      ],
      ['x: y', /^headers must be/],
      [new Map(), /^headers must be/],
      [[['x']], /^headers\[0\] must be a \[name, value\] pair of strings/],
      [[['x', 1]], /^headers\[0\] must be a \[name, value\] pair/],
      [{ 'bad name': 'v' }, /^headers\.bad name must be a header name/],
      [
        { authorization: `Bearer ${TOKEN}\r\n` },
        /^headers\.authorization must be a header value without line breaks, NUL or characters beyond Latin-1; received "authorization: Bearer \[redacted\]"/,
      ],
      [{ connection: 'close' }, /^headers\.connection must be a header other than/],
    ];
    for (const [headers, message] of cases) {
      await assert.rejects(probe(url, { headers: headers as never }), (err: unknown) => {
        assert.ok(err instanceof InvalidOptionError, String(err));
        assert.match(err.message, message);
        assert.ok(!err.message.includes('s3cr3t'), err.message);
        return true;
      });
    }
  });
});

describe('redactHeaderValue', () => {
  it('hides secret headers, keeps the Authorization scheme, redacts URL secrets elsewhere', () => {
    assert.equal(redactHeaderValue('Authorization', `Bearer ${TOKEN}`), 'Bearer [redacted]');
    assert.equal(redactHeaderValue('proxy-authorization', 'Basic dXNlcjpwYXNz'), 'Basic [redacted]');
    assert.equal(redactHeaderValue('authorization', TOKEN), '[redacted]');
    for (const name of [
      'Cookie',
      'set-cookie',
      'X-Api-Key',
      'apikey',
      'X-Auth-Token',
      'x-session-id',
      'X-Client-Secret',
      'x-amz-signature',
    ]) {
      assert.equal(redactHeaderValue(name, TOKEN), '[redacted]', name);
    }
    assert.equal(redactHeaderValue('x-tenant', 'acme'), 'acme');
    assert.equal(redactHeaderValue('referer', 'https://u:p@h/x?q=1'), 'https://[redacted]@h/x?[redacted]');
  });
});

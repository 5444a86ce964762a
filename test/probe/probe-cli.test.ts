// `bulwark probe` against real loopback servers: the verdict of each layer, the last line and the
// exit status for a healthy HTTPS server, each TLS failure, a refused port, NXDOMAIN and timeouts
// through a test DNS server, resolvers that disagree, a 503, and the --json shape.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProbeReport } from '../../src/probe/report.ts';
import { getTestPki, issueLeaf, type TestPki, type TlsPair } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { startSilentServer } from '../helpers/raw-server.ts';
import { lastLine, layerLine, refusedPort, runCli } from './run-cli.ts';

let pki: TestPki;
/** A leaf for app.test, signed by the test CA. */
let appCert: TlsPair;
let dir: string;
let caFile: string;
let dns: TestDnsServer;

before(async () => {
  pki = await getTestPki();
  appCert = await issueLeaf(pki.ca, { commonName: 'app.test', dnsNames: ['app.test'], ips: [] });
  dir = await mkdtemp(join(tmpdir(), 'bulwark-probe-'));
  caFile = join(dir, 'ca.pem');
  await writeFile(caFile, pki.ca.cert);
  dns = await startDnsServer();
  dns.setRecords('app.test', { A: ['127.0.0.1'], ttl: 60 });
});
after(async () => {
  await dns.close();
  await rm(dir, { recursive: true, force: true });
});

/** Probes `url` with `--json` and the given flags; returns the parsed report and the exit status. */
async function probeJson(url: string, flags: string[] = []): Promise<{ code: number; report: ProbeReport }> {
  const run = await runCli(['probe', url, '--json', ...flags]);
  assert.equal(run.stderr, '');
  return { code: run.code, report: JSON.parse(run.stdout) as ProbeReport };
}

describe('bulwark probe: verdicts and exit statuses', () => {
  it('a healthy HTTPS server reached through --resolver and trusted with --ca: all ok, exit 0', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...appCert }));
    const run = await runCli([
      'probe',
      `https://app.test:${server.port}/health`,
      '--no-system',
      '--resolver',
      dns.address,
      '--ca',
      caFile,
    ]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(run.stderr, '');
    for (const layer of ['dns', 'tcp', 'tls', 'path', 'http'])
      assert.match(layerLine(run.stdout, layer), /^\w+\s+ok\s/);
    assert.match(run.stdout, /app\.test → 127\.0\.0\.1/);
    assert.match(run.stdout, /TTL 60 s/);
    assert.match(run.stdout, /SNI app\.test · TLSv1\.[23]/);
    assert.match(run.stdout, /#0\s+CN=app\.test\s+issuer CN=Bulwark Test CA/);
    assert.match(layerLine(run.stdout, 'http'), /200 OK/);
    assert.match(layerLine(run.stdout, 'path'), /^path\s+ok\s.*requests up to 16 KB answered/);
    assert.match(lastLine(run.stdout), /^healthy/);
    // The http layer's request and the path layer's four (unpadded, 1.4, 4 and 16 KB).
    assert.equal(server.requests, 5);
  });

  it('an expired certificate: tls failed with TLS_CERT_EXPIRED, http skipped, exit 1', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.expired }));
    const run = await runCli(['probe', `https://127.0.0.1:${server.port}/`, '--ca', caFile]);
    assert.equal(run.code, 1);
    assert.match(layerLine(run.stdout, 'tcp'), /^tcp\s+ok/);
    assert.match(layerLine(run.stdout, 'tls'), /^tls\s+failed\s.*TLS_CERT_EXPIRED.*expired 1 day ago/);
    assert.match(layerLine(run.stdout, 'http'), /^http\s+skipped\s+TLS failed/);
    assert.match(lastLine(run.stdout), /^failed at tls: TLS_CERT_EXPIRED/);
    // The path layer's exchanges verify the certificate too: nothing is sent to this server.
    assert.equal(server.requests, 0);
  });

  it('a refused port: tcp failed with TCP_REFUSED, tls and http skipped, exit 1', async () => {
    const port = await refusedPort();
    const { code, report } = await probeJson(`https://127.0.0.1:${port}/`);
    assert.equal(code, 1);
    assert.equal(report.layers.dns.verdict, 'ok');
    assert.equal(report.layers.dns.literal, true);
    assert.equal(report.layers.tcp.verdict, 'failed');
    assert.equal(report.layers.tcp.code, 'TCP_REFUSED');
    assert.deepEqual([report.layers.tls.verdict, report.layers.http.verdict], ['skipped', 'skipped']);
    assert.equal(report.firstFailed, 'tcp');
    assert.equal(report.verdict, 'failed');
  });

  it('NXDOMAIN through --resolver: dns failed with DNS_NOT_FOUND, the rest skipped, exit 1', async () => {
    const run = await runCli(['probe', 'http://missing.test/', '--no-system', '--resolver', dns.address]);
    assert.equal(run.code, 1);
    assert.match(layerLine(run.stdout, 'dns'), /^dns\s+failed\s.*DNS_NOT_FOUND/);
    for (const layer of ['tcp', 'tls', 'http']) assert.match(layerLine(run.stdout, layer), /skipped/);
    assert.match(lastLine(run.stdout), /^failed at dns: DNS_NOT_FOUND/);
  });

  it('a 503: http suspect with HTTP_STATUS and Retry-After, exit 0 (1 with --strict)', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.writeHead(503, { 'retry-after': '7', server: 'test-proxy' }).end('busy');
    });
    const { code, report } = await probeJson(`${server.url}/ready`);
    assert.equal(code, 0);
    assert.equal(report.verdict, 'suspect');
    assert.equal(report.firstFailed, null);
    const http = report.layers.http;
    assert.equal(http.verdict, 'suspect');
    assert.equal(http.code, 'HTTP_STATUS');
    assert.equal(http.status, 503);
    assert.equal(http.headers.retryAfter, '7');
    assert.equal(http.retryAfterSeconds, 7);
    assert.equal(http.headers.server, 'test-proxy');
    assert.match(http.reason, /503 Service Unavailable/);
    assert.equal(report.layers.tls.verdict, 'skipped');
    assert.equal(report.layers.tls.reason, 'plain http: no TLS');

    const strict = await runCli(['probe', `${server.url}/ready`, '--strict']);
    assert.equal(strict.code, 1);
    assert.match(lastLine(strict.stdout), /^healthy, with warnings: http \(503 Service Unavailable/);
  });

  it('a 4xx is ok, with a note that it is about the request', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.writeHead(404).end();
    });
    const { code, report } = await probeJson(`${server.url}/nope`);
    assert.equal(code, 0);
    assert.equal(report.layers.http.verdict, 'ok');
    assert.match(report.layers.http.reason, /^404 Not Found: .*not the network/);
  });

  it('a certificate expiring in 5 days: tls suspect with a warning, exit 0', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.expiringSoon }));
    const { code, report } = await probeJson(`https://127.0.0.1:${server.port}/`, ['--ca', caFile]);
    assert.equal(code, 0);
    const tls = report.layers.tls;
    assert.equal(tls.verdict, 'suspect');
    assert.equal(tls.authorized, true);
    assert.ok(tls.daysUntilExpiry !== null && tls.daysUntilExpiry >= 4 && tls.daysUntilExpiry <= 5);
    assert.match(tls.warnings[0] ?? '', /^the certificate expires in [45] days/);
    assert.equal(report.layers.http.verdict, 'ok');
    assert.equal(report.verdict, 'suspect');
  });

  it('two resolvers that disagree: dns suspect and flagged; the address that does not answer makes tcp suspect', async (t) => {
    const other = cleanup(t, await startDnsServer());
    other.setRecords('app.test', { A: ['127.0.0.2'], ttl: 30 });
    const server = cleanup(t, await startHttpServer());
    const { code, report } = await probeJson(`http://app.test:${server.port}/`, [
      '--no-system',
      '--resolver',
      dns.address,
      '--resolver',
      other.address,
    ]);
    assert.equal(code, 0);
    const d = report.layers.dns;
    assert.equal(d.verdict, 'suspect');
    assert.equal(d.differ, true);
    assert.deepEqual(d.addresses, ['127.0.0.1', '127.0.0.2']);
    assert.deepEqual(
      d.sources.map((s) => [s.resolver, s.addresses.map((a) => [a.address, a.ttl])]),
      [
        [dns.address, [['127.0.0.1', 60]]],
        [other.address, [['127.0.0.2', 30]]],
      ],
    );
    assert.match(d.warnings.join('\n'), /answers differ/);
    const tcp = report.layers.tcp;
    assert.equal(tcp.verdict, 'suspect');
    assert.equal(tcp.address, '127.0.0.1');
    assert.deepEqual(
      tcp.attempts.map((a) => [a.address, a.verdict, a.code]),
      [
        ['127.0.0.1', 'ok', null],
        ['127.0.0.2', 'failed', 'TCP_REFUSED'],
      ],
    );
    assert.equal(report.layers.http.verdict, 'ok');
  });

  it('resolvers that agree: dns ok, both named', async (t) => {
    const twin = cleanup(t, await startDnsServer());
    twin.setRecords('app.test', { A: ['127.0.0.1'], ttl: 5 });
    const server = cleanup(t, await startHttpServer());
    const { report } = await probeJson(`http://app.test:${server.port}/`, [
      '--no-system',
      '--resolver',
      dns.address,
      '--resolver',
      twin.address,
    ]);
    assert.equal(report.layers.dns.verdict, 'ok');
    assert.equal(report.layers.dns.differ, false);
    assert.match(report.layers.dns.reason, /\(2 resolvers agree\)/);
  });

  it('one resolver failing while another answers: dns suspect with its code', async (t) => {
    const broken = cleanup(t, await startDnsServer());
    broken.servfail('app.test');
    const server = cleanup(t, await startHttpServer());
    const { code, report } = await probeJson(`http://app.test:${server.port}/`, [
      '--no-system',
      '--resolver',
      dns.address,
      '--resolver',
      broken.address,
    ]);
    assert.equal(code, 0);
    assert.equal(report.layers.dns.verdict, 'suspect');
    assert.equal(report.layers.dns.code, 'DNS_SERVER_FAILURE');
    assert.equal(report.layers.http.verdict, 'ok');
  });

  it('a resolver that never answers: dns failed with DNS_TIMEOUT within --dns-timeout', async (t) => {
    const mute = cleanup(t, await startDnsServer());
    mute.silence('app.test');
    const started = performance.now();
    const { code, report } = await probeJson('http://app.test/', [
      '--no-system',
      '--resolver',
      mute.address,
      '--dns-timeout',
      '200',
    ]);
    assert.equal(code, 1);
    assert.equal(report.layers.dns.code, 'DNS_TIMEOUT');
    assert.ok(performance.now() - started < 1_500);
  });

  it('the system resolver: TTL unknown, said so', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const run = await runCli(['probe', `http://localhost:${server.port}/`]);
    assert.match(run.stdout, /system\s+\S.*TTL unknown \(getaddrinfo reports none\)/);
  });
});

describe('bulwark probe: TLS failures', () => {
  it('a certificate for another host: TLS_HOSTNAME_MISMATCH', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.wrongHost }));
    const { code, report } = await probeJson(`https://127.0.0.1:${server.port}/`, ['--ca', caFile]);
    assert.equal(code, 1);
    assert.equal(report.layers.tls.code, 'TLS_HOSTNAME_MISMATCH');
    assert.match(report.layers.tls.reason, /does not cover 127\.0\.0\.1 \(it covers DNS:wrong\.example\)/);
  });

  it('a self-signed certificate: TLS_UNTRUSTED; with --insecure tls is suspect and the request is made', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.selfSigned }));
    const url = `https://127.0.0.1:${server.port}/`;
    const strictRun = await probeJson(url, ['--ca', caFile]);
    assert.equal(strictRun.code, 1);
    assert.equal(strictRun.report.layers.tls.code, 'TLS_UNTRUSTED');
    assert.equal(strictRun.report.layers.tls.verifyError, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(strictRun.report.layers.tls.chain[0]?.subject, 'CN=localhost');

    const insecure = await probeJson(url, ['--insecure']);
    assert.equal(insecure.code, 0);
    assert.equal(insecure.report.layers.tls.verdict, 'suspect');
    assert.equal(insecure.report.layers.tls.code, 'TLS_UNTRUSTED');
    assert.equal(insecure.report.layers.tls.insecure, true);
    assert.equal(insecure.report.layers.http.status, 200);
  });

  it('no --ca for a private CA: TLS_UNTRUSTED with a hint', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const { report } = await probeJson(`https://127.0.0.1:${server.port}/`);
    assert.equal(report.layers.tls.code, 'TLS_UNTRUSTED');
    assert.match(report.layers.tls.reason, /--ca <file>/);
  });

  it('a server that never finishes the handshake: TLS_TIMEOUT', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const { code, report } = await probeJson(`https://127.0.0.1:${silent.port}/`, ['--tls-timeout', '150']);
    assert.equal(code, 1);
    assert.equal(report.layers.tcp.verdict, 'ok');
    assert.equal(report.layers.tls.code, 'TLS_TIMEOUT');
    assert.equal(report.firstFailed, 'tls');
  });

  it('TLS to a plain HTTP port: TLS_HANDSHAKE_FAILED', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const { report } = await probeJson(`https://127.0.0.1:${server.port}/`);
    assert.equal(report.layers.tls.verdict, 'failed');
    assert.equal(report.layers.tls.code, 'TLS_HANDSHAKE_FAILED');
  });
});

describe('bulwark probe: HTTP failures', () => {
  it('no response headers within --http-timeout: HTTP_HEADERS_TIMEOUT', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle(() => {});
    const { code, report } = await probeJson(server.url, ['--http-timeout', '150']);
    assert.equal(code, 1);
    assert.equal(report.layers.http.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(report.firstFailed, 'http');
  });

  it('--method sends that method', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let seen = '';
    server.handle((req, res) => {
      seen = req.method ?? '';
      res.end();
    });
    const { report } = await probeJson(server.url, ['-X', 'head']);
    assert.equal(seen, 'HEAD');
    assert.equal(report.layers.http.method, 'HEAD');
  });
});

describe('bulwark probe --json', () => {
  it('prints the documented shape: every key present, null where it does not apply', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...appCert }));
    const { report } = await probeJson(`https://app.test:${server.port}/a?token=secret`, [
      '--no-system',
      '--resolver',
      dns.address,
      '--ca',
      caFile,
    ]);
    assert.deepEqual(Object.keys(report).sort(), [
      'duration',
      'firstFailed',
      'layers',
      'schema',
      'startedAt',
      'url',
      'verdict',
    ]);
    assert.equal(report.schema, 'bulwark.probe/v3');
    assert.equal(report.url, `https://app.test:${server.port}/a?[redacted]`);
    assert.ok(!Number.isNaN(Date.parse(report.startedAt)));
    const common = ['code', 'duration', 'reason', 'verdict', 'warnings'];
    const keys = (o: object) => Object.keys(o).sort();
    assert.deepEqual(keys(report.layers), ['dns', 'http', 'path', 'tcp', 'tls']);
    assert.deepEqual(
      keys(report.layers.dns),
      [...common, 'addresses', 'differ', 'host', 'literal', 'sources'].sort(),
    );
    assert.deepEqual(keys(report.layers.dns.sources[0]!), [
      'addresses',
      'code',
      'duration',
      'error',
      'resolver',
      'verdict',
    ]);
    assert.deepEqual(keys(report.layers.tcp), [...common, 'address', 'attempts', 'port'].sort());
    assert.deepEqual(keys(report.layers.tcp.attempts[0]!), [
      'address',
      'code',
      'duration',
      'error',
      'family',
      'verdict',
    ]);
    assert.deepEqual(
      keys(report.layers.tls),
      [
        ...common,
        'address',
        'alpn',
        'authorized',
        'bytesReceived',
        'bytesSent',
        'chain',
        'cipher',
        'daysUntilExpiry',
        'hint',
        'insecure',
        'protocol',
        'servername',
        'verifyError',
      ].sort(),
    );
    assert.deepEqual(keys(report.layers.tls.chain[0]!), [
      'fingerprint256',
      'issuer',
      'subject',
      'subjectAltName',
      'validFrom',
      'validTo',
    ]);
    assert.deepEqual(
      keys(report.layers.http),
      [
        ...common,
        'headers',
        'hint',
        'method',
        'path',
        'requestHeaders',
        'retryAfterSeconds',
        'status',
        'statusText',
        'ttfb',
      ].sort(),
    );
    assert.deepEqual(keys(report.layers.http.headers), ['contentType', 'location', 'retryAfter', 'server']);
    assert.deepEqual(
      keys(report.layers.path),
      [...common, 'address', 'brokeAt', 'connects', 'estimatedLoss', 'exchanges', 'window'].sort(),
    );
    assert.deepEqual(keys(report.layers.path.connects[0]!), [
      'address',
      'connected',
      'durations',
      'estimatedLoss',
      'failed',
      'family',
      'max',
      'min',
      'p50',
      'p90',
      'retransmitted',
      'samples',
      'synsLost',
      'synsSent',
    ]);
    assert.deepEqual(keys(report.layers.path.exchanges[0]!), [
      'bytes',
      'code',
      'duration',
      'error',
      'outcome',
      'status',
    ]);
    assert.deepEqual(
      report.layers.path.exchanges.map((e) => [e.outcome, e.status]),
      [
        ['answered', 200],
        ['answered', 200],
        ['answered', 200],
        ['answered', 200],
      ],
    );
    assert.equal(report.layers.path.connects[0]!.samples, 10);
    assert.equal(report.layers.path.connects[0]!.durations.length, 10);
    assert.equal(typeof report.layers.tls.bytesSent, 'number');
    assert.equal(report.layers.http.path, '/a');
    assert.equal(typeof report.layers.http.ttfb, 'number');
    assert.equal(report.layers.http.headers.location, null);
    assert.equal(report.layers.tls.servername, 'app.test');
  });

  it('skipped layers keep the same keys', async () => {
    const port = await refusedPort();
    const { report } = await probeJson(`https://127.0.0.1:${port}/`);
    assert.deepEqual(report.layers.tls.chain, []);
    assert.equal(report.layers.tls.duration, null);
    assert.equal(report.layers.http.status, null);
    assert.deepEqual(Object.keys(report.layers.http.headers).length, 4);
    assert.equal(report.layers.path.verdict, 'skipped');
    assert.deepEqual(report.layers.path.connects, []);
    assert.equal(report.layers.path.brokeAt, null);
  });
});

const ESC = '\u001b';

describe('bulwark probe: terminal output', () => {
  it('aligns the layer lines and colours only on a TTY without NO_COLOR', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const plain = await runCli(['probe', server.url]);
    assert.ok(!plain.stdout.includes(ESC));
    const starts = ['dns', 'tcp', 'tls', 'path', 'http'].map((l) =>
      layerLine(plain.stdout, l).search(/ok|skipped/),
    );
    assert.equal(new Set(starts).size, 1, plain.stdout);

    const tty = await runCli(['probe', server.url], { tty: true });
    assert.ok(tty.stdout.includes(`${ESC}[32mok`));
    const noColour = await runCli(['probe', server.url], { tty: true, env: { NO_COLOR: '1' } });
    assert.ok(!noColour.stdout.includes(ESC));
  });
});

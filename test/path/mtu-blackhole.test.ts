// An MTU blackhole, for real: client ↔ middle ↔ server in network namespaces of the test's own,
// every link at MTU 1500, the route through the middle at 1400 and the ICMP "fragmentation
// needed" it would send dropped by nftables. Small exchanges pass, full-size packets vanish.
// `bulwark probe` must find it (path layer: where it broke), the client's timeouts must carry the
// 'mtu' hint, and with the ICMP let through (the control) path MTU discovery heals it all.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ProbeReport } from '../../src/probe/report.ts';
import { getTestPki, issueLeaf } from '../helpers/certs.ts';
import { createPathBed, netnsUnavailable, type PathBed, SERVER_ADDRESS } from '../helpers/netns.ts';

const BIN = new URL('../../src/bin/bulwark.ts', import.meta.url).pathname;
const SERVER = new URL('../helpers/netns-server.ts', import.meta.url).pathname;
const CLIENT = new URL('../helpers/netns-client.ts', import.meta.url).pathname;
const HTTP = `http://${SERVER_ADDRESS}:8080`;
const HTTPS = `https://${SERVER_ADDRESS}:8443`;
/**
 * The probe's path window and the client's phase timeouts here: a stall shows within it, and an
 * answer on a machine busy with other suites comes well inside it.
 */
const WINDOW = 2_500;

const skip = await netnsUnavailable();

interface Bed {
  readonly bed: PathBed;
  /** The test CA, PEM, and a file holding it (for `--ca`). */
  readonly ca: string;
  readonly caFile: string;
  close(): Promise<void>;
}

/** A bed with `faults` and the test server (HTTP on 8080, HTTPS on 8443 for SERVER_ADDRESS). */
async function bedWithServer(faults: Parameters<typeof createPathBed>[0]): Promise<Bed> {
  const pki = await getTestPki();
  const leaf = await issueLeaf(pki.ca, { commonName: 'path.test', dnsNames: [], ips: [SERVER_ADDRESS] });
  const dir = await mkdtemp(join(tmpdir(), 'bulwark-path-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, pki.ca.cert);
  const bed = await createPathBed(faults);
  const close = async (): Promise<void> => {
    await bed.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await bed.server.startNode(SERVER, [JSON.stringify({ http: 8080, https: 8443, ...leaf })]);
    return { bed, ca: pki.ca.cert, caFile, close };
  } catch (err) {
    await close();
    throw err;
  }
}

async function probeJson(
  bed: PathBed,
  url: string,
  flags: string[] = [],
): Promise<{ code: number | null; report: ProbeReport }> {
  const run = await bed.client.runNode(BIN, [
    'probe',
    url,
    '--json',
    '--path-timeout',
    String(WINDOW),
    ...flags,
  ]);
  assert.equal(run.stderr, '');
  return { code: run.code, report: JSON.parse(run.stdout) as ProbeReport };
}

type Outcome = { ok: true; status: number } | { ok: false; error: Record<string, unknown> };

/** Requests of `padding` bytes of header to each URL (through `api`), made at once from the client namespace. */
async function requests(
  bed: PathBed,
  ca: string,
  jobs: readonly [url: string, padding: number, api?: 'request' | 'fetch'][],
): Promise<Outcome[]> {
  const client = { retry: false, timeout: { connect: WINDOW, tls: WINDOW, headers: WINDOW }, tls: { ca } };
  const run = await bed.client.runNode(CLIENT, [
    JSON.stringify(jobs.map(([url, padding, api]) => ({ url, padding, api, client }))),
  ]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Outcome[];
}

/** How large this Node's default TLS ClientHello is (OpenSSL 3.5 adds a post-quantum key share). */
async function clientHelloBytes(): Promise<number> {
  const { createServer, connect } = await import('node:net');
  const tls = await import('node:tls');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const received = new Promise<number>((resolve) => {
    server.once('connection', (s) => {
      let n = 0;
      s.on('data', (d: Buffer) => {
        n += d.length;
      });
      setTimeout(() => {
        s.destroy();
        resolve(n);
      }, 200);
    });
  });
  const socket = tls.connect({
    socket: connect(port, '127.0.0.1'),
    servername: 'path.test',
    rejectUnauthorized: false,
  });
  socket.on('error', () => {});
  const bytes = await received;
  socket.destroy();
  server.close();
  return bytes;
}

// The blackhole and its control run side by side, each in a test network of its own.
describe('the path through a lower-MTU route', { skip, concurrency: true }, () => {
  describe('an MTU blackhole: route MTU 1400 in the middle, ICMP "fragmentation needed" dropped', {
    skip,
    concurrency: true,
  }, () => {
    let b: Bed;
    before(async () => {
      b = await bedWithServer({ mtu: 1_400, dropFragNeeded: true });
    });
    after(() => b?.close());

    it('probe: path failed — large exchanges stall, small ones pass; http (small) ok; exit 1', async () => {
      const { code, report } = await probeJson(b.bed, `${HTTP}/health`);
      assert.equal(code, 1);
      const path = report.layers.path;
      assert.equal(path.verdict, 'failed', path.reason);
      assert.equal(path.code, 'HTTP_HEADERS_TIMEOUT');
      assert.equal(path.brokeAt, 1_400);
      assert.match(
        path.reason,
        /^large exchanges stall, small ones pass: MTU blackhole suspected — requests of 1\.4 KB to 16 KB got no answer, a \d+ B request was answered/,
      );
      assert.deepEqual(
        path.exchanges.map((e) => [e.outcome, e.status]),
        [
          ['answered', 200],
          ['silent', null],
          ['silent', null],
          ['silent', null],
        ],
      );
      assert.ok(path.exchanges[0]!.bytes < 1_400);
      assert.equal(path.connects[0]?.connected, 10, 'connects are small packets: they pass');
      assert.equal(path.estimatedLoss, 0);
      assert.equal(report.layers.http.status, 200, 'the probe request itself is small');
      assert.equal(report.firstFailed, 'path');
    });

    it("probe over https: the tls layer's ClientHello stalls too when it is larger than 1.4 KB", async () => {
      const hello = await clientHelloBytes();
      const { code, report } = await probeJson(b.bed, `${HTTPS}/`, [
        '--ca',
        b.caFile,
        '--tls-timeout',
        String(WINDOW),
      ]);
      assert.equal(code, 1);
      const { tls, path } = report.layers;
      assert.equal(path.verdict, 'failed', path.reason);
      assert.equal(path.brokeAt, 1_400);
      assert.deepEqual(
        path.exchanges.map((e) => e.outcome),
        ['answered', 'silent', 'silent', 'silent'],
      );
      if (hello > 1_400) {
        assert.equal(tls.code, 'TLS_TIMEOUT');
        assert.equal(tls.bytesReceived, 0);
        assert.match(tls.reason, /a \d+-byte ClientHello got nothing back/);
        assert.match(path.reason, /the \d+-byte ClientHello of the tls layer/);
        assert.equal(report.firstFailed, 'tls');
      }
    });

    it('client: a 3 KB request times out with hint mtu, over http and https, request and fetch; a small one gets its 200', async () => {
      const hello = await clientHelloBytes();
      const [large, fetched, small, secure] = await requests(b.bed, b.ca, [
        [`${HTTP}/upload`, 3_000],
        [`${HTTP}/upload`, 3_000, 'fetch'],
        [`${HTTP}/small`, 0],
        [`${HTTPS}/upload`, 3_000],
      ]);
      assert.deepEqual(small, { ok: true, status: 200 });
      for (const outcome of [large, fetched]) {
        assert.equal(outcome?.ok, false);
        const err = (outcome as { error: Record<string, unknown> }).error;
        assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
        assert.equal(err.layer, 'http', 'a hint never changes the layer');
        assert.equal(err.hint, 'mtu');
        assert.match(String(err.message), /\[hint: mtu — /);
      }
      // Over https a ClientHello over 1.4 KB stalls the handshake; a smaller one passes, the request stalls.
      const tlsErr = (secure as { error: Record<string, unknown> }).error;
      assert.equal(tlsErr.code, hello > 1_400 ? 'TLS_TIMEOUT' : 'HTTP_HEADERS_TIMEOUT');
      assert.equal(tlsErr.hint, 'mtu');
    });
  });

  describe('the control: the same route MTU with the ICMP let through', { concurrency: true }, () => {
    let b: Bed;
    before(async () => {
      b = await bedWithServer({ mtu: 1_400, dropFragNeeded: false });
    });
    after(() => b?.close());

    it('path MTU discovery shrinks the packets: probe path ok, every exchange answered', async () => {
      const { code, report } = await probeJson(b.bed, `${HTTP}/health`);
      assert.equal(code, 0, report.layers.path.reason);
      assert.equal(report.layers.path.verdict, 'ok');
      assert.equal(report.layers.path.brokeAt, null);
      assert.deepEqual(
        report.layers.path.exchanges.map((e) => e.outcome),
        ['answered', 'answered', 'answered', 'answered'],
      );
    });

    it('client: the 3 KB request gets its 200, over http and https', async () => {
      assert.deepEqual(
        await requests(b.bed, b.ca, [
          [`${HTTP}/upload`, 3_000],
          [`${HTTPS}/upload`, 3_000],
        ]),
        [
          { ok: true, status: 200 },
          { ok: true, status: 200 },
        ],
      );
    });
  });
});

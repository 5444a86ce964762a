// Each timeout governs its own phase only. A table: one phase's timeout is set short, and each
// phase in turn is made slow (longer than the short timeout, well within its own default). A slow
// phase whose own timeout is the short one fails with that phase's code and budget 'phase'; any
// other slow phase completes. Every phase is really slow where the row says so (its timing shows
// it), through real parts: a DNS server that answers late, a listener whose accept queue is full
// (the SYN is dropped and retransmitted after ~1 s), a proxy that holds the TLS server's first
// flight, and an HTTPS server that delays its headers or pauses mid-body. Both front-ends.
import assert from 'node:assert/strict';
import net, { type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError, type Timings } from '../../src/errors/bulwark-error.ts';
import type { ErrorCode } from '../../src/errors/codes.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { getTestPki, issueLeaf } from '../helpers/certs.ts';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.ts';
import { startHttpsServer, type TestHttpServer } from '../helpers/http-server.ts';
import { listen } from '../helpers/listen.ts';
import { type SlowAcceptor, startSlowAcceptor } from '../helpers/slow-accept.ts';

const PHASES = ['dns', 'connect', 'tls', 'headers', 'body'] as const;
type Phase = (typeof PHASES)[number];

/**
 * The short timeout, and how long each slow phase takes. A slow connect takes the SYN
 * retransmission (~1 s); DNS answers within the resolver's per-try timeout (the DNS deadline split
 * across its tries); TLS, headers and body are slower than the short timeout plus the one-second
 * resolution of undici's headers and body timers (Bulwark uses undici's body timer as it is,
 * re-armed per chunk at no cost), so a timeout wrongly governing another phase would show.
 */
const SHORT = 300;
const SLOW: Record<Phase, number> = { dns: 700, connect: 1_000, tls: 1_500, headers: 1_500, body: 1_500 };

const CODE: Record<Phase, ErrorCode> = {
  dns: 'DNS_TIMEOUT',
  connect: 'TCP_TIMEOUT',
  tls: 'TLS_TIMEOUT',
  headers: 'HTTP_HEADERS_TIMEOUT',
  body: 'HTTP_BODY_TIMEOUT',
};

/** A TCP proxy that holds each connection's first server→client chunk (the TLS server's first flight). */
async function startTlsDelayProxy(target: number, delay: number): Promise<{ port: number; close(): void }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    let first = true;
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!first) {
        client.write(chunk);
        return;
      }
      first = false;
      upstream.pause();
      setTimeout(() => {
        client.write(chunk);
        upstream.resume();
      }, delay);
    });
  });
  const port = await listen(server, '127.0.0.1');
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

interface Outcome {
  ok: boolean;
  /** The failure is a BulwarkError (every failure is, the body's included). */
  tagged?: boolean;
  code?: ErrorCode | null;
  budget?: unknown;
  error?: string;
  timings?: Timings | undefined;
  /** How long reading the body took (ms). */
  bodyMs?: number;
}

describe('each timeout governs its own phase', () => {
  let dns: TestDnsServer;
  let server: TestHttpServer;
  let tlsProxy: { port: number; close(): void };
  let ca: string;
  let rowNo = 0;

  before(async () => {
    const pki = await getTestPki();
    ca = pki.ca.cert;
    const leaf = await issueLeaf(pki.ca, { commonName: 'phase.test', dnsNames: ['*.phase.test'] });
    dns = await startDnsServer();
    server = await startHttpsServer({
      ...leaf,
      handler: async (req, res) => {
        const q = new URL(req.url ?? '/', 'https://x').searchParams;
        await sleep(Number(q.get('headers') ?? 0));
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first-');
        await sleep(Number(q.get('body') ?? 0));
        res.end('second');
      },
    });
    tlsProxy = await startTlsDelayProxy(server.port, SLOW.tls);
  });

  after(async () => {
    tlsProxy.close();
    await Promise.all([dns.close(), server.close()]);
  });

  /** One call of `frontEnd` with `short` set short and `slow` made slow. */
  async function run(frontEnd: 'request' | 'fetch', short: Phase, slow: Phase): Promise<Outcome> {
    const name = `r${++rowNo}.phase.test`;
    dns.setRecords(name, { A: ['127.0.0.1'], delay: slow === 'dns' ? SLOW.dns : 0 });
    let acceptor: SlowAcceptor | undefined;
    let port = server.port;
    if (slow === 'connect') {
      acceptor = await startSlowAcceptor({ host: '127.0.0.1', port: server.port });
      port = acceptor.port;
    } else if (slow === 'tls') {
      port = tlsProxy.port;
    }
    const client = createClient({
      retry: false,
      breaker: false,
      dns: { servers: [dns.address] },
      tls: { ca },
      timeout: { [short]: SHORT },
    });
    const url = `https://${name}:${port}/?headers=${slow === 'headers' ? SLOW.headers : 0}&body=${slow === 'body' ? SLOW.body : 0}`;
    // The SYN went out and was dropped; let the retransmission (~1 s after it) connect.
    const releasing = acceptor === undefined ? undefined : sleep(SHORT + 50).then(() => acceptor.release());
    try {
      let timings: Timings | undefined;
      let text: string;
      let bodyStarted: number;
      if (frontEnd === 'request') {
        const res = await client.request(url);
        timings = res.timings;
        bodyStarted = performance.now();
        text = await res.body.text();
      } else {
        const res = await client.fetch(url);
        timings = responseInfo(res)?.timings;
        bodyStarted = performance.now();
        text = await res.text();
      }
      assert.equal(text, 'first-second');
      return { ok: true, timings, bodyMs: performance.now() - bodyStarted };
    } catch (err) {
      return {
        ok: false,
        tagged: isBulwarkError(err),
        code: isBulwarkError(err) ? err.code : null,
        budget: isBulwarkError(err) ? err.budget : undefined,
        error: String(err),
      };
    } finally {
      await releasing;
      await client.close();
      await acceptor?.close();
    }
  }

  /** The outcome shows the slow phase really was slow. */
  function assertSlow(slow: Phase, o: Outcome, label: string): void {
    const t = o.timings ?? {};
    const took = { dns: t.dns, connect: t.connect, tls: t.tls, headers: t.ttfb, body: o.bodyMs }[slow] ?? -1;
    assert.ok(took >= SLOW[slow] * 0.8, `${label}: the ${slow} phase took ${took} ms`);
  }

  for (const short of PHASES) {
    it(`timeout.${short} = ${SHORT} ms: only a slow ${short} phase fails, with ${CODE[short]}`, async () => {
      const rows = PHASES.flatMap((slow) =>
        (['request', 'fetch'] as const).map((frontEnd) => ({ slow, frontEnd })),
      );
      const outcomes = await Promise.all(rows.map((r) => run(r.frontEnd, short, r.slow)));
      rows.forEach(({ slow, frontEnd }, i) => {
        const o = outcomes[i] as Outcome;
        const label = `${frontEnd}, ${short} short, ${slow} slow`;
        if (slow === short) {
          assert.equal(o.ok, false, `${label}: should fail`);
          assert.equal(o.tagged, true, `${label}: a BulwarkError, got ${o.error}`);
          assert.equal(o.code, CODE[short], `${label}: ${o.error}`);
          assert.equal(o.budget, 'phase', `${label}: budget`);
        } else {
          assert.equal(o.ok, true, `${label}: should complete, got ${o.error}`);
          assertSlow(slow, o, label);
        }
      });
    });
  }
});

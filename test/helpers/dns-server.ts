// An authoritative DNS server on loopback UDP speaking the real wire protocol (via dns-packet),
// so resolver behaviour — TTLs, NXDOMAIN, NODATA, SERVFAIL, timeouts — is tested end to end.

import dgram from 'node:dgram';
import { once } from 'node:events';
import dnsPacket, { type Answer, type Question } from 'dns-packet';
import { hostPort } from './listen.ts';

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  /** Seconds; 0 is allowed (do not cache). @default 60 */
  ttl?: number;
  /** Milliseconds to wait before answering (a slow resolver). @default 0 */
  delay?: number;
}

export interface DnsServerOptions {
  /** Loopback address to bind, e.g. '::1'. @default '127.0.0.1' */
  host?: string;
}

type Entry =
  | { kind: 'records'; A: string[]; AAAA: string[]; ttl: number; delay: number }
  | { kind: 'nxdomain' | 'servfail' | 'silence' };

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4 } as const;
/** Classic DNS over UDP: a longer answer must be truncated so the client retries over TCP. */
const UDP_LIMIT = 512;

/** Names compare case-insensitively and with or without the root dot. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** A started server; see {@link startDnsServer}. */
export class TestDnsServer implements AsyncDisposable {
  readonly host: string;
  #socket: dgram.Socket;
  #port = 0;
  #entries = new Map<string, Entry>();
  /** name → record type → queries received. */
  #counts = new Map<string, Map<string, number>>();
  #total = 0;
  #closing: Promise<void> | undefined;
  readonly #delayed = new Set<NodeJS.Timeout>();

  static async start(opts: DnsServerOptions = {}): Promise<TestDnsServer> {
    const server = new TestDnsServer(opts.host ?? '127.0.0.1');
    server.#socket.bind(0, server.host);
    await once(server.#socket, 'listening');
    server.#port = server.#socket.address().port;
    return server;
  }

  private constructor(host: string) {
    this.host = host;
    this.#socket = dgram.createSocket(host.includes(':') ? 'udp6' : 'udp4');
    this.#socket.on('message', (msg, rinfo) => this.#onMessage(msg, rinfo));
  }

  get port(): number {
    return this.#port;
  }

  /** `127.0.0.1:PORT` (or `[::1]:PORT`), the form `dns.Resolver#setServers` takes. */
  get address(): string {
    return hostPort(this.host, this.#port);
  }

  /** Answers `name` with these records; a type without records gets NODATA. */
  setRecords(name: string, records: DnsRecords): void {
    const { A = [], AAAA = [], ttl = 60, delay = 0 } = records;
    this.#entries.set(normalize(name), { kind: 'records', A: [...A], AAAA: [...AAAA], ttl, delay });
  }

  /** Answers NXDOMAIN for `name` (as for any name never set). */
  nxdomain(name: string): void {
    this.#entries.set(normalize(name), { kind: 'nxdomain' });
  }

  /** Answers SERVFAIL for `name`. */
  servfail(name: string): void {
    this.#entries.set(normalize(name), { kind: 'servfail' });
  }

  /** Receives (and counts) queries for `name` but never answers, so resolvers time out. */
  silence(name: string): void {
    this.#entries.set(normalize(name), { kind: 'silence' });
  }

  /** Forgets `name`: it answers NXDOMAIN again. */
  remove(name: string): void {
    this.#entries.delete(normalize(name));
  }

  /** Queries received for `name` (case-insensitive), of one record type if given. */
  queries(name: string, type?: string): number {
    const byType = this.#counts.get(normalize(name));
    if (byType === undefined) return 0;
    if (type !== undefined) return byType.get(type.toUpperCase()) ?? 0;
    let sum = 0;
    for (const n of byType.values()) sum += n;
    return sum;
  }

  /** Queries received for any name, malformed ones included. */
  get totalQueries(): number {
    return this.#total;
  }

  resetCounts(): void {
    this.#counts.clear();
    this.#total = 0;
  }

  close(): Promise<void> {
    for (const timer of this.#delayed) clearTimeout(timer);
    this.#delayed.clear();
    this.#closing ??= new Promise((resolve) => this.#socket.close(() => resolve()));
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    this.#total++;
    const reply = this.#answer(msg);
    if (reply === undefined) return;
    const delay = this.#delayOf(msg);
    if (delay === 0) {
      this.#socket.send(reply, rinfo.port, rinfo.address);
      return;
    }
    const timer = setTimeout(() => {
      this.#delayed.delete(timer);
      this.#socket.send(reply, rinfo.port, rinfo.address);
    }, delay);
    this.#delayed.add(timer);
  }

  /** The delay set for the name a query asks about (0 when none, or the query is malformed). */
  #delayOf(msg: Buffer): number {
    try {
      const name = dnsPacket.decode(msg).questions?.[0]?.name;
      const entry = name === undefined ? undefined : this.#entries.get(normalize(name));
      return entry?.kind === 'records' ? entry.delay : 0;
    } catch {
      return 0;
    }
  }

  /** The encoded reply to one query, or undefined to stay silent. */
  #answer(msg: Buffer): Buffer | undefined {
    if (msg.length < 12) return undefined; // not even a header: nothing to reply to
    const id = msg.readUInt16BE(0);
    const flags = msg.readUInt16BE(2);
    const rd = flags & dnsPacket.RECURSION_DESIRED;
    const opcode = (flags >> 11) & 0xf;
    if (flags & 0x8000) return undefined; // a response, not a query
    if (opcode !== 0) return this.#reply(id, rd, RCODE.NOTIMP, [], []);
    let questions: Question[];
    try {
      questions = dnsPacket.decode(msg).questions ?? [];
    } catch {
      return this.#reply(id, rd, RCODE.FORMERR, [], []);
    }
    const question = questions[0];
    if (question === undefined || questions.length !== 1) return this.#reply(id, rd, RCODE.FORMERR, [], []);

    const name = normalize(question.name);
    const type: string = question.type; // may be ANY, which dns-packet's types leave out
    const byType = this.#counts.get(name) ?? new Map<string, number>();
    this.#counts.set(name, byType);
    byType.set(type, (byType.get(type) ?? 0) + 1);

    const entry = this.#entries.get(name) ?? { kind: 'nxdomain' };
    switch (entry.kind) {
      case 'silence':
        return undefined;
      case 'servfail':
        return this.#reply(id, rd, RCODE.SERVFAIL, questions, []);
      case 'nxdomain':
        return this.#reply(id, rd, RCODE.NXDOMAIN, questions, []);
      case 'records': {
        // Answers carry the question's own spelling of the name (0x20 case randomisation).
        const answer = (type: 'A' | 'AAAA', data: string): Answer => ({
          type,
          name: question.name,
          class: 'IN',
          ttl: entry.ttl,
          data,
        });
        const answers: Answer[] = [];
        if (type === 'A' || type === 'ANY') answers.push(...entry.A.map((a) => answer('A', a)));
        if (type === 'AAAA' || type === 'ANY') {
          answers.push(...entry.AAAA.map((a) => answer('AAAA', a)));
        }
        // Any other type of a known name: NOERROR with no answers (NODATA).
        return this.#reply(id, rd, RCODE.NOERROR, questions, answers);
      }
    }
  }

  #reply(id: number, rd: number, rcode: number, questions: Question[], answers: Answer[]): Buffer {
    const authoritative = rcode === RCODE.NOERROR || rcode === RCODE.NXDOMAIN;
    const flags =
      (authoritative ? dnsPacket.AUTHORITATIVE_ANSWER : 0) | dnsPacket.RECURSION_AVAILABLE | rd | rcode;
    const packet = { type: 'response' as const, id, flags, questions, answers };
    const encoded = dnsPacket.encode(packet);
    if (encoded.length <= UDP_LIMIT) return encoded;
    return dnsPacket.encode({ ...packet, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  }
}

/** Starts a DNS server on UDP port 0; every name answers NXDOMAIN until set. */
export function startDnsServer(opts: DnsServerOptions = {}): Promise<TestDnsServer> {
  return TestDnsServer.start(opts);
}

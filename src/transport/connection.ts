/**
 * What Bulwark knows about one connection: the phase it is in, where it goes, how long each phase
 * took, how many responses it has served and how many bytes it had exchanged when it opened. The
 * connector fills it in; the agent and the attempt stage read it for timings, error layers,
 * retirement, the stale keep-alive rule and the path hints of timeouts (errors/path-hint.ts).
 */
import type { Socket } from 'node:net';

/** The phase of a connection: connecting (one of three phases), open, or closed. */
export type ConnectionPhase = 'dns' | 'tcp' | 'tls' | 'open' | 'closed';

/** One connection's record. Durations are milliseconds. */
export interface ConnectionRecord {
  phase: ConnectionPhase;
  /** `scheme://host:port`. */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** The IP address connected to, once known. */
  address: string | undefined;
  /** Durations of the connect phases (0 for a phase that was skipped: an IP literal, plain HTTP). */
  dns: number;
  connect: number;
  tls: number;
  /** `performance.now()` when the connection started and when it became usable. */
  readonly startedAt: number;
  openedAt: number;
  /** `performance.now()` after which the connection takes no new request (max lifetime, jittered). */
  expiresAt: number;
  /** The protocol the connection speaks: `h2` when the TLS handshake chose it (ALPN). */
  protocol: 'http/1.1' | 'h2';
  /** Responses that have started on this connection. */
  served: number;
  /** Marked when the connection must not take new requests (max lifetime, DNS change, ejection). */
  retired: boolean;
  /**
   * Its address was ejected as an outlier: unlike a connection past its lifetime, it carries no
   * further request (not even a last one with `reset`); a request that finds it idle reconnects.
   */
  ejected: boolean;
  socket: Socket | undefined;
  /** The TCP socket once its handshake completed (under TLS, `socket` is the TLS socket on it). */
  wire: Socket | undefined;
  /** Bytes written and read on the wire when the connection became usable (the TLS handshake's). */
  writtenAtOpen: number;
  readAtOpen: number;
}

/** A fresh record for a connection about to start. */
export function newConnectionRecord(origin: string, host: string, port: number): ConnectionRecord {
  return {
    phase: 'dns',
    origin,
    host,
    port,
    address: undefined,
    dns: 0,
    connect: 0,
    tls: 0,
    startedAt: performance.now(),
    openedAt: 0,
    expiresAt: Number.POSITIVE_INFINITY,
    protocol: 'http/1.1',
    served: 0,
    retired: false,
    ejected: false,
    socket: undefined,
    wire: undefined,
    writtenAtOpen: 0,
    readAtOpen: 0,
  };
}

/** Fewer whole days than this before a certificate expires is a warning (probe and statistics). */
export const CERTIFICATE_WARNING_DAYS = 14;

const DAY = 86_400_000;

/** Whole days from `now` until `validTo` (epoch ms), towards zero: 4.9 days is 4, 25 hours ago is -1. */
export function daysUntil(validTo: number, now: number = Date.now()): number {
  return Math.trunc((validTo - now) / DAY) || 0;
}

/** A certificate the client was shown, as the per-origin statistics keep it. */
export interface PeerCertificateInfo {
  /** The subject (`CN=...`, or the whole distinguished name). */
  readonly subject: string;
  readonly issuer: string;
  /** When it expires, epoch milliseconds. */
  readonly validTo: number;
  /** SHA-256 fingerprint, colon-separated hex. */
  readonly fingerprint256: string;
}

/** Told about each connection's milestones: the client's per-origin statistics listen. */
export interface ConnectionObserver {
  /** The TCP handshake of `rec` completed, after `rec.connect` milliseconds. */
  connected(rec: ConnectionRecord): void;
  /** The TLS handshake of `rec` completed and the server showed `certificate` (its leaf). */
  secured(rec: ConnectionRecord, certificate: PeerCertificateInfo): void;
}

/**
 * What Bulwark knows about one connection: the phase it is in, where it goes, how long each phase
 * took and how many responses it has served. The connector fills it in; the agent and the attempt
 * stage read it for timings, error layers, retirement and the stale keep-alive rule.
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
  /** Responses that have started on this connection. */
  served: number;
  /** Marked when the connection must not take new requests (max lifetime, DNS change). */
  retired: boolean;
  socket: Socket | undefined;
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
    served: 0,
    retired: false,
    socket: undefined,
  };
}

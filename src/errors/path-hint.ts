/**
 * Which path hint a timeout carries ({@link PathHint}), from the little it can know of its
 * connection: the TCP socket's byte counters and the origin's SYN-retransmit history. A pure
 * function over a narrow slice of a connection, so the connector, the attempt stage and the
 * deadline all call it without knowing each other. Called only once a timeout happened.
 */
import { MTU_HINT_BYTES, type PathHint } from './bulwark-error.ts';
import type { ErrorCode } from './codes.ts';

/** What the hint reads of a connection (the transport's connection record has it). */
export interface HintedConnection {
  /** `'tls'` while the TLS handshake runs. */
  readonly phase: string;
  /** Responses the connection has started to serve. */
  readonly served: number;
  /** The TCP socket's counters, once its handshake completed (TLS records included). */
  readonly wire: { readonly bytesWritten: number; readonly bytesRead: number } | undefined;
  /** The counters when the connection became usable (after the TLS handshake). */
  readonly writtenAtOpen: number;
  readonly readAtOpen: number;
}

/** What the hint reads of an origin: whether its recent connects show SYN retransmissions. */
export interface LossEvidence {
  lossSeen(): boolean;
}

/**
 * `'mtu'` for a TLS timeout, or a response-headers timeout on a connection that had served
 * nothing yet, after more than {@link MTU_HINT_BYTES} went out with nothing back; `'loss'` for a
 * TCP timeout when `origin` says its connects show SYN retransmissions.
 */
export function pathHintOf(
  code: ErrorCode,
  conn: HintedConnection | undefined,
  origin: LossEvidence | undefined,
): PathHint | undefined {
  switch (code) {
    case 'TCP_TIMEOUT':
      return origin?.lossSeen() ? 'loss' : undefined;
    case 'TLS_TIMEOUT': {
      const wire = conn?.phase === 'tls' ? conn.wire : undefined;
      return wire !== undefined && wire.bytesWritten > MTU_HINT_BYTES && wire.bytesRead === 0
        ? 'mtu'
        : undefined;
    }
    case 'HTTP_HEADERS_TIMEOUT': {
      const wire = conn?.served === 0 ? conn.wire : undefined;
      if (wire === undefined) return undefined;
      const written = wire.bytesWritten - conn!.writtenAtOpen;
      return written > MTU_HINT_BYTES && wire.bytesRead === conn!.readAtOpen ? 'mtu' : undefined;
    }
    default:
      return undefined;
  }
}

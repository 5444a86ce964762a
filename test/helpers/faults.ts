// The faults the fault proxy can inject, and what each one means for the two directions of a
// proxied connection: a pure mapping, so the proxy's socket code stays free of fault cases.

/** A network fault; {@link ./fault-proxy.ts} applies it to live and new connections alike. */
export type Fault =
  /** Forward everything at once. */
  | { kind: 'pass' }
  /** Delay every chunk (and FIN) by `ms` in each direction, keeping order. */
  | { kind: 'latency'; ms: number }
  /**
   * Forward nothing and send no FIN or RST, like a network partition. New connections are
   * accepted but not connected upstream. Data is held, not lost: when the fault changes it flows
   * again, as TCP retransmission would deliver it after the partition heals.
   */
  | { kind: 'blackhole' }
  /** Reset (RST) live connections at once; reset new ones as soon as they are accepted. */
  | { kind: 'reset' }
  /** Forward `bytes` more bytes server→client, then reset both sides. Client→server passes. */
  | { kind: 'reset-after'; bytes: number }
  /** Forward `bytes` more bytes server→client, then forward nothing more that way (no FIN). */
  | { kind: 'stall-after'; bytes: number }
  /**
   * Forget live connections, as a NAT or load balancer that evicted the flow: from now on
   * nothing crosses them in either direction (data, FIN and RST are discarded), and neither side
   * is told — even after the fault changes. New connections while 'drop' is set are forgotten
   * the same way (accepted, never connected upstream).
   */
  | { kind: 'drop' }
  /**
   * Close the listening socket so new connects get ECONNREFUSED; live connections pass. Changing
   * the fault listens again on the same port (another process could take the port in between).
   */
  | { kind: 'refuse' };

/** How one direction of a connection treats what it receives. */
export interface LaneSettings {
  /** Added to every item's delivery time (ms). */
  delay: number;
  /** Deliver nothing for now; keep it queued and stop reading the source (backpressure). */
  hold: boolean;
  /** Bytes still allowed through; Infinity when unlimited. */
  budget: number;
  /** What happens when `budget` reaches 0. */
  exhausted: 'stall' | 'reset';
}

const PASS: LaneSettings = { delay: 0, hold: false, budget: Number.POSITIVE_INFINITY, exhausted: 'stall' };

/**
 * The settings of the client→server (`up`) and server→client (`down`) directions under `fault`.
 * 'reset' and 'drop' act on the whole connection and are handled by the connection itself.
 */
export function laneSettings(fault: Fault): { up: LaneSettings; down: LaneSettings } {
  switch (fault.kind) {
    case 'latency':
      return { up: { ...PASS, delay: fault.ms }, down: { ...PASS, delay: fault.ms } };
    case 'blackhole':
      return { up: { ...PASS, hold: true }, down: { ...PASS, hold: true } };
    case 'reset-after':
      return { up: PASS, down: { ...PASS, budget: fault.bytes, exhausted: 'reset' } };
    case 'stall-after':
      return { up: PASS, down: { ...PASS, budget: fault.bytes, exhausted: 'stall' } };
    case 'pass':
    case 'refuse':
    case 'reset':
    case 'drop':
      return { up: PASS, down: PASS };
  }
}

/** Throws a TypeError for a fault a test spelled wrong, before any socket is touched. */
export function checkFault(fault: Fault): void {
  const count = (name: string, value: unknown): void => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new TypeError(`fault.${name}: expected a finite number >= 0, got ${String(value)}`);
    }
  };
  switch (fault.kind) {
    case 'latency':
      count('ms', fault.ms);
      return;
    case 'reset-after':
    case 'stall-after':
      count('bytes', fault.bytes);
      return;
    case 'pass':
    case 'blackhole':
    case 'reset':
    case 'drop':
    case 'refuse':
      return;
    default:
      throw new TypeError(`fault.kind: unknown fault ${JSON.stringify(fault)}`);
  }
}

// A loopback port where one TCP connect takes about a second, then carries a real exchange: the
// listener's accept queue is full when the client's SYN arrives, so Linux drops the SYN; the
// listener is released a moment later, and the client's first SYN retransmission (after the
// initial RTO of 1 s) connects. Accepted connections are piped to a target server, so a slow TCP
// handshake can be followed by TLS and HTTP. A gated listener shut once (gated-listener.ts).
import { startGatedListener } from './gated-listener.ts';

export interface SlowAcceptor extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Lets the listener accept again (the queued and retransmitted SYNs then connect). */
  release(): void;
  close(): Promise<void>;
}

/** Starts a listener whose next connect hangs until {@link SlowAcceptor.release}, piped to `target`. */
export async function startSlowAcceptor(
  target: { host: string; port: number },
  host = '127.0.0.1',
): Promise<SlowAcceptor> {
  const gate = await startGatedListener(target, host);
  try {
    await gate.shut();
  } catch (err) {
    await gate.close();
    throw err;
  }
  return { host, port: gate.port, release: gate.open, close: gate.close, [Symbol.asyncDispose]: gate.close };
}

/**
 * The deadline: the total budget of a call, and the timeout error that names the layer in which
 * time ran out. The call's one timer is armed per attempt by the attempt stage, at the earlier of
 * the attempt budget and the total budget, and this module says what its expiry means.
 */

import type { Call } from '../client/call.ts';
import type { Stage } from '../client/pipeline.ts';
import { BulwarkError } from '../errors/bulwark-error.ts';

/** Sets the call's total deadline; every later stage measures against it. */
export function deadlineStage<R>(): Stage<R> {
  return (next) => (call) => {
    call.deadline = call.startedAt + call.config.timeout.total;
    return next(call);
  };
}

/**
 * The error for a budget that ran out during `call`'s current attempt. Its layer is the phase the
 * attempt was in: still waiting for a connection (pool), resolving (dns), connecting (tcp),
 * handshaking (tls), or waiting for the response headers (http).
 */
export function timeoutError(call: Call, budget: 'attempt' | 'total'): BulwarkError {
  const client = call.client;
  const rec = call.reusedConnection ?? client?.current;
  const target =
    rec?.address === undefined ? call.state.target : { ...call.state.target, address: rec.address };
  const common = { budget, target, request: call.request, attempts: call.attempts };
  if (client === undefined || rec === undefined) {
    return new BulwarkError({ layer: 'pool', code: 'POOL_ACQUIRE_TIMEOUT', ...common });
  }
  switch (rec.phase) {
    case 'dns':
      return new BulwarkError({ layer: 'dns', code: 'DNS_TIMEOUT', ...common });
    case 'tcp':
      return new BulwarkError({ layer: 'tcp', code: 'TCP_TIMEOUT', ...common });
    case 'tls':
      return new BulwarkError({ layer: 'tls', code: 'TLS_TIMEOUT', ...common });
    default:
      return new BulwarkError({ layer: 'http', code: 'HTTP_HEADERS_TIMEOUT', ...common });
  }
}

/**
 * The deadline: what the expiry of a budget means. A call's total deadline is fixed when it starts
 * (`Call`); its one timer is armed per attempt by the attempt stage, at the earlier of the attempt
 * budget and the total budget (`Deadlines`), and this module names the layer in which time ran out.
 */

import type { Call } from '../client/call.ts';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { TIMEOUT_CODE_OF_LAYER } from '../errors/codes.ts';
import { pathHintOf } from '../errors/path-hint.ts';

/**
 * The error for a budget that ran out during `call`'s current attempt. Its layer is the phase the
 * attempt was in: still waiting for a connection (pool), resolving (dns), connecting (tcp),
 * handshaking (tls), or waiting for the response headers (http).
 */
export function timeoutError(call: Call, budget: 'phase' | 'attempt' | 'total'): BulwarkError {
  const client = call.client;
  const rec = call.reusedConnection ?? client?.current;
  const target =
    rec?.address === undefined ? call.state.target : { ...call.state.target, address: rec.address };
  const common = { budget, target, request: call.request, attempts: call.attempts };
  const layer =
    client === undefined || rec === undefined
      ? 'pool'
      : rec.phase === 'dns' || rec.phase === 'tcp' || rec.phase === 'tls'
        ? rec.phase
        : 'http';
  const code = TIMEOUT_CODE_OF_LAYER[layer];
  // Evidence about the path (an MTU blackhole, SYN loss) when the timeout fits one.
  const hint = pathHintOf(code, rec, call.state.stats);
  return new BulwarkError({ layer, code, ...common, hint });
}

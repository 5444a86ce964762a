/**
 * The agent a client uses, built from its resolved options: its connector (the DNS cache or the
 * system resolver, phase timeouts, TCP keep-alive, TLS, the connection observer) and its pools'
 * settings. Bulwark's own benches and tests build the client's agent alone through it.
 */
import type { ConnectionOptions } from 'node:tls';
import { undiciHeadersTimeout } from '../http/undici-timeouts.ts';
import { BulwarkAgent } from '../transport/agent.ts';
import { type AddressSelector, type Connector, createConnector } from '../transport/connect.ts';
import type { ConnectionObserver } from '../transport/connection.ts';
import { systemResolver } from '../transport/system-resolver.ts';
import type { ResolvedClientOptions } from './options.ts';

/**
 * A connector of a client with options `o` (its resolver, phase timeouts, TCP keep-alive), with
 * `tls` and `allowH2`: the agent's, and the proxy agent's (client/proxy-agent.ts).
 */
export function clientConnector(
  o: ResolvedClientOptions,
  tls: Readonly<ConnectionOptions>,
  allowH2: boolean,
  observer?: ConnectionObserver,
  selector?: AddressSelector,
): Connector {
  return createConnector({
    resolver: o.dns === false ? systemResolver : o.dns,
    timeouts: { dns: o.timeout.dns, connect: o.timeout.connect, tls: o.timeout.tls },
    tcpKeepAliveDelay: o.keepAlive.tcpKeepAliveDelay,
    tls,
    allowH2,
    ...(observer === undefined ? {} : { observer }),
    ...(selector === undefined ? {} : { selector }),
  });
}

/**
 * The agent of a client with options `o`; `observer` hears of its connections (for stats),
 * `selector` picks each connection's addresses (outlier ejection).
 */
export function createAgent(
  o: ResolvedClientOptions,
  observer?: ConnectionObserver,
  selector?: AddressSelector,
): BulwarkAgent {
  const clock = o.clock;
  return new BulwarkAgent({
    connector: clientConnector(o, o.tls, o.allowH2, observer, selector),
    connections: o.connections,
    idleTimeout: o.keepAlive.idleTimeout,
    maxLifetime: o.keepAlive.maxLifetime,
    lifetimeJitter: o.keepAlive.lifetimeJitter,
    headersTimeout: undiciHeadersTimeout(o.timeout),
    bodyTimeout: o.timeout.body,
    random: () => clock.random(),
    allowH2: o.allowH2,
    maxConcurrentStreams: o.maxConcurrentStreams,
  });
}

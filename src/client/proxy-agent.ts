/**
 * The dispatcher the client builds for its `proxy` option: undici's `ProxyAgent` or
 * `EnvHttpProxyAgent`, whose connections to the proxy are made by Bulwark's connector (DNS cache,
 * phase timeouts, TCP keepalive, errors tagged dns/tcp/tls), as the client's own agent's are.
 */
import { Client, type Dispatcher, EnvHttpProxyAgent, Pool, ProxyAgent } from 'undici';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { undiciHeadersTimeout } from '../http/undici-timeouts.ts';
import { clientConnector } from './create-agent.ts';
import type { ResolvedClientOptions } from './options.ts';
import type { ResolvedProxy } from './proxy-options.ts';

/**
 * The dispatcher for `proxy`: undici's `ProxyAgent` (or `EnvHttpProxyAgent` for `'env'`), with the
 * client's pool settings. Every connection to the proxy — the one CONNECT goes over, or the one
 * plain requests are forwarded on — is made by Bulwark's connector; so are, with `'env'`, the direct
 * connections to the hosts NO_PROXY names. Through a tunnel, the TLS handshake with the target is
 * undici's (with the client's `tls` options). The client owns it and closes it on `close()`.
 */
export function createProxyAgent(proxy: ResolvedProxy, o: ResolvedClientOptions): Dispatcher {
  const toProxy = clientConnector(o, proxy.kind === 'uri' ? proxy.tls : {}, false);
  const proxies = new Set<string>();
  for (const url of proxy.kind === 'uri' ? [proxy.uri] : [proxy.http, proxy.https]) {
    if (url !== undefined) proxies.add(url.href);
  }
  const pool: Pool.Options = {
    connections: o.connections,
    pipelining: 1,
    keepAliveTimeout: o.keepAlive.idleTimeout,
    keepAliveMaxTimeout: o.keepAlive.idleTimeout,
    headersTimeout: undiciHeadersTimeout(o.timeout),
    bodyTimeout: o.timeout.body,
    // Said either way: through a tunnel undici's own TLS with the target would offer h2 unasked
    // (ProxyAgent picks its http/1.1-only connector when the pool says `allowH2: false`).
    allowH2: o.allowH2,
    ...(o.allowH2 ? { maxConcurrentStreams: o.maxConcurrentStreams } : {}),
  };
  // undici's ProxyAgent calls `factory` for each target origin (its `connect` then opens the
  // tunnel) and, for requests it forwards without a tunnel, with the proxy's own URL (its `connect`
  // then dials the proxy): that one gets Bulwark's connector. Pinned by test/client/proxy.test.ts.
  const factory = (origin: string | URL, opts: object): Dispatcher => {
    const connect = proxies.has(String(origin)) ? toProxy : (opts as { connect?: unknown }).connect;
    const options = { ...pool, ...opts, connect } as Pool.Options;
    return options.connections === 1
      ? new Client(origin, options as Client.Options)
      : new Pool(origin, options);
  };
  const common = {
    ...pool,
    factory,
    // The proxy client CONNECT requests go through (documented: ProxyAgent's `clientFactory`). The
    // proxy's answer to a CONNECT is part of connecting: `timeout.connect` bounds it.
    clientFactory: (origin: URL, opts: object): Dispatcher =>
      new TunnelPool(origin, {
        ...pool,
        ...opts,
        headersTimeout: o.timeout.connect,
        connect: toProxy as unknown as NonNullable<Pool.Options['connect']>,
      }),
    requestTls: o.tls,
    // The TLS handshake with the target inside a tunnel: undici's connector, under `timeout.tls`.
    connectTimeout: o.timeout.tls,
  } as unknown as ProxyAgent.Options;
  if (proxy.kind === 'env') {
    return new EnvHttpProxyAgent({
      ...(common as EnvHttpProxyAgent.Options),
      // The hosts NO_PROXY names are reached directly, through Bulwark's connector.
      connect: clientConnector(o, o.tls, o.allowH2) as unknown as NonNullable<Pool.Options['connect']>,
      ...(proxy.http === undefined ? {} : { httpProxy: proxy.http.href }),
      ...(proxy.https === undefined ? {} : { httpsProxy: proxy.https.href }),
    });
  }
  return new ProxyAgent({
    ...(common as ProxyAgent.Options),
    uri: proxy.uri.href,
    ...(proxy.token === undefined ? {} : { token: proxy.token }),
    headers: { ...proxy.headers },
    proxyTunnel: proxy.tunnel,
  });
}

/**
 * The pool CONNECT requests go to the proxy on. A proxy that does not answer a CONNECT within
 * `timeout.connect` fails the tunnel as `HTTP_PROXY` (the request never left the proxy), rather
 * than as the headers timeout of a request that may have been served.
 */
class TunnelPool extends Pool {
  override connect(...args: unknown[]): never {
    const connect = super.connect as (...a: unknown[]) => unknown;
    if (args.length > 1) return connect.apply(this, args) as never; // the callback form (ProxyAgent awaits)
    return (connect.apply(this, args) as Promise<unknown>).catch((err: unknown) => {
      if ((err as { code?: unknown } | null)?.code !== 'UND_ERR_HEADERS_TIMEOUT') throw err;
      throw new BulwarkError({
        layer: 'http',
        code: 'HTTP_PROXY',
        message: 'the proxy did not answer CONNECT within timeout.connect',
        cause: err,
      });
    }) as never;
  }
}

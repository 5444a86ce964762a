/**
 * The `proxy` option of `createClient`: its public type and its validation (client/proxy-agent.ts
 * builds the dispatcher from it).
 */
import type { ConnectionOptions } from 'node:tls';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactUrl } from '../errors/redact.ts';
import { checkBoolean, checkObject, checkString } from '../options/validate.ts';

/**
 * A forward proxy (HTTP CONNECT for `https:` targets; plain `http:` requests are forwarded with
 * their absolute URL, or tunnelled too with `tunnel: true`).
 *
 * @example
 * ```ts
 * createClient({ proxy: { uri: 'http://proxy.corp:3128', token: `Basic ${btoa('me:secret')}` } });
 * ```
 */
export interface ProxyOptions {
  /** The proxy's URL, `http:` or `https:`; user-info in it becomes `Proxy-Authorization: Basic`. */
  uri: string | URL;
  /** The `Proxy-Authorization` value (instead of user-info in `uri`). */
  token?: string;
  /** Headers sent to the proxy (on each CONNECT, or each forwarded request). */
  headers?: Record<string, string>;
  /**
   * Tunnel plain `http:` requests through CONNECT as well (`https:` ones always are).
   * @default false
   */
  tunnel?: boolean;
  /** Options for `tls.connect` to an `https:` proxy (its `ca`, client certificate, ...). */
  tls?: Omit<ConnectionOptions, 'socket' | 'host' | 'port' | 'path' | 'lookup' | 'ALPNProtocols'>;
}

/** The `proxy` option after validation. */
export type ResolvedProxy =
  | { readonly kind: 'env'; readonly http: URL | undefined; readonly https: URL | undefined }
  | {
      readonly kind: 'uri';
      readonly uri: URL;
      readonly token: string | undefined;
      readonly headers: Readonly<Record<string, string>>;
      readonly tunnel: boolean;
      readonly tls: Readonly<ConnectionOptions>;
    };

const PROXY_KEYS = ['uri', 'token', 'headers', 'tunnel', 'tls'] as const;
const EXPECTED = "a proxy URL (http: or https:), { uri, token?, headers?, tunnel?, tls? } or 'env'";

/**
 * Validates `proxy`: a URL string or `URL`, {@link ProxyOptions}, or `'env'` (HTTP_PROXY,
 * HTTPS_PROXY and NO_PROXY, lower-case first, read now).
 */
export function resolveProxy(input: unknown): ResolvedProxy | undefined {
  if (input === undefined) return undefined;
  if (input === 'env') {
    const env = process.env;
    return Object.freeze({
      kind: 'env',
      http: proxyUrl(env.http_proxy || env.HTTP_PROXY || undefined, 'proxy (HTTP_PROXY)'),
      https: proxyUrl(env.https_proxy || env.HTTPS_PROXY || undefined, 'proxy (HTTPS_PROXY)'),
    });
  }
  if (typeof input === 'string' || input instanceof URL) {
    return Object.freeze({
      kind: 'uri',
      uri: proxyUrl(input, 'proxy') as URL,
      token: undefined,
      headers: Object.freeze({}),
      tunnel: false,
      tls: Object.freeze({}),
    });
  }
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError('proxy', EXPECTED, input);
  }
  for (const key of Object.keys(input)) {
    // Checked here rather than by checkObject, which shows the value: it may be a credential.
    if (!(PROXY_KEYS as readonly string[]).includes(key)) {
      throw new InvalidOptionError(
        `proxy.${key}`,
        `a known option (proxy accepts ${PROXY_KEYS.join(', ')})`,
        'a value',
      );
    }
  }
  const o = checkObject(input, 'proxy', PROXY_KEYS);
  if (o.uri === undefined) throw new InvalidOptionError('proxy.uri', 'a proxy URL (http: or https:)', o.uri);
  const token = o.token === undefined ? undefined : checkString(o.token, 'proxy.token', '');
  if (token !== undefined && /[\r\n]/.test(token)) {
    throw new InvalidOptionError('proxy.token', 'a header value (no line breaks)', '[redacted]');
  }
  const headers = checkObject(o.headers, 'proxy.headers', Object.keys(o.headers ?? {}));
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value !== 'string') throw new InvalidOptionError(`proxy.headers.${name}`, 'a string', value);
    if (name.toLowerCase() === 'proxy-authorization' && token !== undefined) {
      throw new InvalidOptionError(
        'proxy.headers',
        'no Proxy-Authorization beside proxy.token',
        '[redacted]',
      );
    }
  }
  const tls = o.tls === undefined ? {} : checkObject(o.tls, 'proxy.tls', Object.keys(o.tls ?? {}));
  for (const key of ['socket', 'host', 'port', 'path', 'lookup', 'ALPNProtocols']) {
    if (Object.hasOwn(tls, key)) {
      throw new InvalidOptionError(
        `proxy.tls.${key}`,
        'left to Bulwark (it is set per connection)',
        tls[key],
      );
    }
  }
  return Object.freeze({
    kind: 'uri',
    uri: proxyUrl(o.uri, 'proxy.uri') as URL,
    token,
    headers: Object.freeze({ ...(headers as Record<string, string>) }),
    tunnel: checkBoolean(o.tunnel, 'proxy.tunnel', false),
    tls: Object.freeze({ ...(tls as ConnectionOptions) }),
  });
}

/** `value` as an http(s) proxy URL, or an {@link InvalidOptionError} that shows it redacted. */
function proxyUrl(value: unknown, path: string): URL | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  if (value instanceof URL) url = new URL(value.href);
  else if (typeof value === 'string') url = URL.canParse(value) ? new URL(value) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
    const shown = typeof value === 'string' || value instanceof URL ? redactUrl(String(value)) : value;
    throw new InvalidOptionError(path, 'a proxy URL (http: or https:)', shown);
  }
  return url;
}

/**
 * The OpenTelemetry attributes of calls, made once per origin, method and outcome and reused, so
 * recording a call's span and duration allocates no attribute object (and the metrics SDK hashes
 * the same few objects). Names follow the HTTP client semantic conventions (their required and
 * recommended attributes; `url.scheme`, opt-in, is left out: each attribute costs every record).
 */
import { type Attributes, SpanKind, type SpanOptions } from '@opentelemetry/api';
import { isBulwarkError } from '../errors/bulwark-error.ts';

/** The methods the semantic conventions name; any other is `_OTHER` (and `http.request.method_original`). */
const KNOWN_METHODS = new Set([
  'CONNECT',
  'DELETE',
  'GET',
  'HEAD',
  'OPTIONS',
  'PATCH',
  'POST',
  'PUT',
  'TRACE',
]);

/** The protocol a response came over (`undefined`: not known, taken as HTTP/1.1). */
export type Protocol = 'http/1.1' | 'h2' | undefined;

/** `network.protocol.version` of a response. */
function protocolVersion(protocol: Protocol): string {
  return protocol === 'h2' ? '2' : '1.1';
}

/** `error.type` of what a call rejected with: the Bulwark code, an `Error`'s name, or `_OTHER`. */
export function errorTypeOf(err: unknown): string {
  if (isBulwarkError(err)) return err.code;
  if (err instanceof Error) return err.name || 'Error';
  return '_OTHER';
}

/** The attributes of the calls of one method to one origin. */
export class RouteAttributes {
  /** The span's name: the method (semantic conventions: `{method}` when there is no route template). */
  readonly name: string;
  /** What a call's span starts with: kind CLIENT and the route's attributes. */
  readonly spanOptions: SpanOptions;
  readonly #base: Attributes;
  readonly #byStatus = new Map<number, Attributes>();
  readonly #byFailure = new Map<string, Attributes>();
  readonly #firstAttempt = new Map<number, Attributes>();

  constructor(method: string, host: string, port: number) {
    const known = KNOWN_METHODS.has(method);
    this.name = known ? method : 'HTTP';
    this.#base = Object.freeze({
      'http.request.method': known ? method : '_OTHER',
      ...(known ? {} : { 'http.request.method_original': method }),
      'server.address': host,
      'server.port': port,
    });
    this.spanOptions = Object.freeze({ kind: SpanKind.CLIENT, attributes: this.#base });
  }

  /**
   * A call that resolved with a response of `status` over `protocol` (a status ≥ 400 is its
   * `error.type`).
   */
  response(status: number, protocol: Protocol): Attributes {
    const key = protocol === 'h2' ? -status : status;
    let a = this.#byStatus.get(key);
    if (a === undefined) {
      a = Object.freeze({
        ...this.#base,
        'network.protocol.version': protocolVersion(protocol),
        'http.response.status_code': status,
        ...(status >= 400 ? { 'error.type': String(status) } : {}),
      });
      this.#byStatus.set(key, a);
    }
    return a;
  }

  /** A call that rejected with `errorType` (with the status of the response it failed on, if any). */
  failure(errorType: string, status: number | undefined, protocol: Protocol): Attributes {
    const key = status === undefined ? errorType : `${errorType} ${status} ${protocol}`;
    let a = this.#byFailure.get(key);
    if (a === undefined) {
      a = Object.freeze({
        ...this.#base,
        ...(status === undefined
          ? {}
          : { 'network.protocol.version': protocolVersion(protocol), 'http.response.status_code': status }),
        'error.type': errorType,
      });
      this.#byFailure.set(key, a);
    }
    return a;
  }

  /** The event attributes of a first attempt that got a response of `status` (the common case). */
  firstAttempt(status: number): Attributes {
    let a = this.#firstAttempt.get(status);
    if (a === undefined) {
      a = Object.freeze({ 'bulwark.attempt': 1, 'http.response.status_code': status });
      this.#firstAttempt.set(status, a);
    }
    return a;
  }
}

/** The {@link RouteAttributes} of every origin and method seen, made on first use. */
export class Routes {
  readonly #byOrigin = new Map<string, Map<string, RouteAttributes>>();

  get(origin: string, method: string, host: string, port: number): RouteAttributes {
    let methods = this.#byOrigin.get(origin);
    if (methods === undefined) {
      methods = new Map();
      this.#byOrigin.set(origin, methods);
    }
    let route = methods.get(method);
    if (route === undefined) {
      route = new RouteAttributes(method, host, port);
      methods.set(method, route);
    }
    return route;
  }
}

/**
 * What bulwark/otel's entry points share: reading a provider or propagator option (`undefined`:
 * OpenTelemetry's global one, `false`: none, anything else checked), and the disposer they return.
 */
import { type Context, propagation, type TextMapPropagator } from '@opentelemetry/api';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';

/** Stops what {@link instrument} or {@link instrumentPool} started (idempotent); also `using`. */
export interface Disposer {
  (): void;
  [Symbol.dispose](): void;
}

/** `stop` as a {@link Disposer}. */
export function disposer(stop: () => void): Disposer {
  const d = (() => stop()) as Disposer;
  d[Symbol.dispose] = stop;
  return d;
}

/** A provider option: `false` is none, `undefined` the global one (`global()`), else it must have `method`. */
export function provider<P>(
  value: P | false | undefined,
  path: string,
  method: string,
  global: () => P,
): P | undefined {
  if (value === false) return undefined;
  if (value === undefined) return global();
  if (typeof (value as Record<string, unknown> | null)?.[method] !== 'function') {
    throw new InvalidOptionError(path, `an OpenTelemetry provider (with ${method}()), or false`, value);
  }
  return value;
}

/** The global propagator, read at each call (it may be set after `instrument`). */
const GLOBAL_PROPAGATOR: TextMapPropagator = {
  inject: (ctx: Context, carrier: unknown, setter) => propagation.inject(ctx, carrier, setter),
  extract: (ctx: Context) => ctx,
  fields: () => propagation.fields(),
};

/** The propagator option: `undefined` the global one, `false` none, else it must have `inject`. */
export function propagatorOption(value: unknown): TextMapPropagator | undefined {
  if (value === false) return undefined;
  if (value === undefined) return GLOBAL_PROPAGATOR;
  if (typeof (value as { inject?: unknown } | null)?.inject !== 'function') {
    throw new InvalidOptionError(
      'options.propagator',
      'a TextMapPropagator (with inject()), or false',
      value,
    );
  }
  return value as TextMapPropagator;
}

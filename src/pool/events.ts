/**
 * What a pool reports: typed events (`pool.on('leak', ...)`) and the same messages on
 * `node:diagnostics_channel` as `bulwark:pool:<event>`. A message is built only when someone
 * listens or subscribes, so reporting costs nothing otherwise.
 */
import diagnostics from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { BulwarkError } from '../errors/bulwark-error.ts';
import type { BreakerState } from '../policy/breaker.ts';
import type { CheckFailure } from './check.ts';

/** A create failed; the pool backs off before the next one. */
export interface CreateFailedEvent {
  /** The pool's name. */
  readonly pool: string;
  /** The `POOL_CREATE_FAILED` error waiting acquires get; its `cause` is the connect error. */
  readonly error: BulwarkError;
  /** Consecutive failed creates so far (1 for the first). */
  readonly failures: number;
  /**
   * Milliseconds until the next create may start: the probe delay while callers wait, the backoff
   * otherwise, or the opt-in breaker's reset.
   */
  readonly retryIn: number;
  /** The create breaker's state after this failure. */
  readonly circuit: BreakerState | 'disabled';
}

/** A connection failed validation (before hand-out, a keepalive ping, or after a failed use) and was destroyed. */
export interface ValidationFailedEvent {
  /** The pool's name. */
  readonly pool: string;
  /**
   * `borrow`: checked before hand-out; `keepalive`: pinged while idle; `use`: checked after a use
   * failed with what looked like a connection-level error.
   */
  readonly phase: 'borrow' | 'keepalive' | 'use';
  /** `false`: validate said so; `error`: it threw or rejected; `timeout`: no answer in time. */
  readonly reason: CheckFailure;
  /** What validate threw or rejected with, for `error`. */
  readonly error?: unknown;
  /** How long the connection had been idle (ms); 0 for `use`. */
  readonly idleFor: number;
}

/** A connection has been held longer than `leakDetectionThreshold`. */
export interface LeakEvent {
  /** The pool's name. */
  readonly pool: string;
  /** How long it has been held (ms). */
  readonly heldFor: number;
  /** The stack of the `acquire()` call that took it. */
  readonly stack: string | undefined;
}

/** A healthy-looking connection was closed by policy, or one died on its own. */
export interface RetiredEvent {
  /** The pool's name. */
  readonly pool: string;
  /** `lifetime`: past `maxLifetime`; `idle`: idle past `idleTimeout` above `min`; `lost`: the driver reported it dead. */
  readonly reason: 'lifetime' | 'idle' | 'lost';
  /** The connection's age (ms). */
  readonly age: number;
  /** For `lost`: what the driver reported. */
  readonly cause?: unknown;
}

/** Every pool event by name. */
export interface PoolEventMap {
  /** A connect attempt failed (`bulwark:pool:create-failed`). */
  'create-failed': CreateFailedEvent;
  /** A validation or keepalive ping failed; the connection was destroyed (`bulwark:pool:validation-failed`). */
  'validation-failed': ValidationFailedEvent;
  /** A connection is held past `leakDetectionThreshold` (`bulwark:pool:leak`). */
  leak: LeakEvent;
  /** A connection was retired: lifetime, idle timeout, or lost (`bulwark:pool:retired`). */
  retired: RetiredEvent;
}

/** A pool event's name. */
export type PoolEventName = keyof PoolEventMap;

const CHANNELS: { readonly [K in PoolEventName]: diagnostics.Channel } = Object.freeze({
  'create-failed': diagnostics.channel('bulwark:pool:create-failed'),
  'validation-failed': diagnostics.channel('bulwark:pool:validation-failed'),
  leak: diagnostics.channel('bulwark:pool:leak'),
  retired: diagnostics.channel('bulwark:pool:retired'),
});

/** The pool's event hub. */
export class PoolEvents {
  readonly #emitter = new EventEmitter();

  on<K extends PoolEventName>(name: K, listener: (event: PoolEventMap[K]) => void): void {
    this.#emitter.on(name, listener);
  }

  off<K extends PoolEventName>(name: K, listener: (event: PoolEventMap[K]) => void): void {
    this.#emitter.off(name, listener);
  }

  /** Builds the message only if someone listens; a listener's throw surfaces on the next tick. */
  emit<K extends PoolEventName>(name: K, build: () => PoolEventMap[K]): void {
    const channel = CHANNELS[name];
    if (this.#emitter.listenerCount(name) === 0 && !channel.hasSubscribers) return;
    const message = build();
    try {
      this.#emitter.emit(name, message);
    } catch (err) {
      process.nextTick(() => {
        throw err;
      });
    }
    if (channel.hasSubscribers) channel.publish(message);
  }
}

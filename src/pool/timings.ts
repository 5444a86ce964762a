/**
 * The pool's timing channels, for metrics (bulwark/otel's `instrumentPool`): how long an acquire
 * waited (`bulwark:pool:wait`), how long a connection was lent (`bulwark:pool:use`) and how long a
 * successful connect took (`bulwark:pool:create`). Each message is built only when its channel has
 * subscribers; with none, a pool pays one boolean read per acquire, release and connect.
 */
import { channel } from 'node:diagnostics_channel';

/** `bulwark:pool:wait`: an acquire was answered (0 when a connection was idle). */
export const poolWaitChannel = channel('bulwark:pool:wait');
/** `bulwark:pool:use`: a lent connection came back (released or destroyed). */
export const poolUseChannel = channel('bulwark:pool:use');
/** `bulwark:pool:create`: a new connection is open. */
export const poolCreateChannel = channel('bulwark:pool:create');

/** The message of a timing channel. */
export interface PoolTiming {
  /** The pool that measured it. */
  readonly source: object;
  /** The pool's name. */
  readonly pool: string;
  /** Milliseconds on the pool's clock. */
  readonly ms: number;
}

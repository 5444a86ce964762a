/**
 * The pool's public surface, for the package barrel: `createPool`, the factory contract, options,
 * stats and events. The driver factories live in their own subpaths (`bulwark/pg`, ...).
 */
export type { CheckFailure } from './check.ts';
export type {
  CreateFailedEvent,
  LeakEvent,
  PoolEventMap,
  PoolEventName,
  RetiredEvent,
  ValidationFailedEvent,
} from './events.ts';
export type { CreateContext, PoolFactory } from './factory.ts';
export type { PoolOptions, ResolvedPoolOptions } from './options.ts';
export { POOL_BREAKER_DEFAULTS, POOL_DEFAULTS } from './options.ts';
export { createPool, Pool } from './pool.ts';
export type { AcquireOptions, CloseOptions, PoolStats, UseOptions } from './types.ts';

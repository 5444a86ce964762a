/**
 * OpenTelemetry for Bulwark: `instrument(client)` and `instrumentPool(pool)`. Needs
 * `@opentelemetry/api` (an optional peer dependency: only this entry point loads it).
 *
 * @module bulwark/otel
 */
export { DURATION_BUCKETS, type InstrumentOptions, instrument } from './instrument.ts';
export { CONNECTION_TIME_BUCKETS, type InstrumentPoolOptions, instrumentPool } from './instrument-pool.ts';
export type { Disposer } from './options.ts';

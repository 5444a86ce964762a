/**
 * Bulwark's public API, on one screen. Everything a user imports comes from here or from the
 * driver subpaths (`bulwark/pg`, `bulwark/mysql2`, `bulwark/ioredis`).
 *
 * @module bulwark
 */

// The client: fetch and request, made resilient.
export { BulwarkClient, createClient } from './client/client.ts';
export type { KeyRequest, PolicyKeyOptions } from './client/keyed-policies.ts';
export type { ClientOptions, KeepAliveOptions, ResolvedKeepAlive, TlsOptions } from './client/options.ts';
export { CONNECTIONS_DEFAULT, KEEP_ALIVE_DEFAULTS } from './client/options.ts';
export type { ProxyOptions } from './client/proxy-options.ts';
export type { Clock, TimerHandle } from './clock/clock.ts';
// Time: the injectable clock, and a virtual one for tests and simulations.
export { systemClock } from './clock/clock.ts';
export type { VirtualClockOptions } from './clock/virtual-clock.ts';
export { VirtualClock } from './clock/virtual-clock.ts';
export type {
  Budget,
  BulwarkErrorInit,
  BulwarkErrorOf,
  ErrorHint,
  NotRetriedReason,
  PathHint,
  RequestInfo,
  Target,
  Timings,
} from './errors/bulwark-error.ts';
// Errors: one type, one taxonomy (and the hints a failure may carry: the path's, the scheme's).
export {
  BULWARK_ERROR_BRAND,
  BulwarkError,
  isBulwarkError,
  MTU_HINT_BYTES,
  PATH_HINTS,
} from './errors/bulwark-error.ts';
export type {
  AppClassification,
  Classification,
  LayerClassification,
  LayerClassificationOf,
} from './errors/classify.ts';
export { classify } from './errors/classify.ts';
export type { CodeInfo, CodeOfLayer, CodesByLayer, ErrorCode, Layer } from './errors/codes.ts';
export { ERROR_CODE_LIST, ERROR_CODES, LAYERS } from './errors/codes.ts';
export { InvalidOptionError } from './errors/invalid-option-error.ts';
export type { SchemeHint } from './errors/scheme-hint.ts';
export { SCHEME_HINTS } from './errors/scheme-hint.ts';
export type { HealthCheckClient, HealthCheckPool, HttpCheckOptions } from './health/checks.ts';
export { httpCheck, poolCheck } from './health/checks.ts';
export { HEALTH_GRACE, healthCheck } from './health/health-check.ts';
export type {
  CheckResult,
  HealthCheckContext,
  HealthCheckFn,
  HealthCheckOptions,
  HealthCheckSpec,
  HealthChecks,
  HealthReport,
  HealthStatus,
  HealthTimeoutCode,
} from './health/options.ts';
export { HEALTH_DEFAULTS } from './health/options.ts';
export { readyHandler } from './health/ready-handler.ts';
export type { CallOptions } from './http/call-config.ts';
export type { FetchInit, FetchInput, FetchResponse } from './http/fetch-types.ts';
export type {
  AfterResponseContext,
  AfterResponseHook,
  BeforeRequestContext,
  BeforeRequestHook,
  BeforeRetryContext,
  BeforeRetryHook,
  HookHeadersInit,
  HookRequest,
  HookResponse,
  HookRetryRequest,
  Hooks,
} from './http/hook-options.ts';
export type {
  CertificateSnapshot,
  OriginStatsSnapshot,
  PathStatsSnapshot,
  Percentiles,
} from './http/origin-stats.ts';
export type { RequestOptions, RequestResult } from './http/request.ts';
export type { HedgeOutcome, ResponseInfo } from './http/response-info.ts';
export { responseInfo } from './http/response-info.ts';
export type { BackoffOptions, Jitter, ResolvedBackoff } from './policy/backoff.ts';
// Policies: options and defaults (the policies themselves run inside the client and the pool).
export { BACKOFF_DEFAULTS, backoffDelay, JITTERS } from './policy/backoff.ts';
export type { BreakerOptions, BreakerState, ResolvedBreaker } from './policy/breaker.ts';
export { BREAKER_DEFAULTS } from './policy/breaker.ts';
export type { BulkheadOptions, ResolvedBulkhead } from './policy/bulkhead.ts';
export { BULKHEAD_DEFAULTS } from './policy/bulkhead.ts';
export type { FallbackValue } from './policy/fallback.ts';
export type {
  FleetCounts,
  FleetOptions,
  FleetRedis,
  FleetStats,
  FleetStore,
  FleetUpdate,
  RedisFleetStoreOptions,
} from './policy/fleet.ts';
export { createFleet, Fleet, redisFleetStore } from './policy/fleet.ts';
export type { HedgeOptions, ResolvedHedge } from './policy/hedge.ts';
export { HEDGE_DEFAULTS } from './policy/hedge.ts';
export type { ResolvedKeyLimits } from './policy/keyed.ts';
export { KEY_LIMIT_DEFAULTS } from './policy/keyed.ts';
export type { PolicyContext, PolicyFunction } from './policy/policy-call.ts';
export type {
  BudgetFleet,
  FleetBudgetShare,
  ResolvedRetryBudget,
  RetriedCall,
  RetryBudget,
  RetryBudgetOptions,
} from './policy/retry-budget.ts';
export { RETRY_BUDGET_DEFAULTS } from './policy/retry-budget.ts';
export type { RetryOptions, ShouldRetry, ShouldRetryContext } from './policy/retry-options.ts';
export { RETRY_DEFAULTS } from './policy/retry-options.ts';
// The Throttle class is a type only: the client makes them; a custom fleet receives them in attach().
export type {
  FleetShare,
  ResolvedThrottle,
  Throttle,
  ThrottleCounts,
  ThrottleFleet,
  ThrottleOptions,
} from './policy/throttle.ts';
export { THROTTLE_DEFAULTS } from './policy/throttle.ts';
export type { TimeoutBudget } from './policy/timeout-stage.ts';
export type { ResolvedTimeouts, TimeoutOptions } from './policy/timeouts.ts';
export { TIMEOUT_DEFAULTS } from './policy/timeouts.ts';
export type {
  BreakerPolicy,
  BreakerPolicyOptions,
  BulkheadPolicy,
  BulkheadPolicyOptions,
  ClockedPolicyOptions,
  FailureClassifier,
  FallbackPolicyOptions,
  Policies,
  Policy,
  RetryPolicy,
  RetryPolicyOptions,
  TimeoutPolicyOptions,
} from './policy/wrap.ts';
// Generic policies: the same retry, breaker, bulkhead (and a timeout, a fallback) around any async function.
export { isFailure, policy, wrap } from './policy/wrap.ts';
export type {
  AcquireOptions,
  CheckFailure,
  CloseOptions,
  CreateContext,
  CreateFailedEvent,
  LeakEvent,
  PoolEventMap,
  PoolEventName,
  PoolFactory,
  PoolOptions,
  PoolStats,
  ResolvedPoolOptions,
  RetiredEvent,
  UseOptions,
  ValidationFailedEvent,
} from './pool/index.ts';
// Pools: generic-pool made safe for databases (factories in bulwark/pg, bulwark/mysql2, bulwark/ioredis).
export { createPool, POOL_BREAKER_DEFAULTS, POOL_DEFAULTS, Pool } from './pool/index.ts';
export type { ProbeOptions, ProbeTimeouts } from './probe/options.ts';
// Triage: a per-layer verdict for one URL (the `bulwark probe` CLI), and health checks that mean something.
export { DEFAULT_SAMPLES, MAX_SAMPLES, PROBE_TIMEOUT_DEFAULTS } from './probe/options.ts';
export { probe } from './probe/probe.ts';
export type {
  CertificateReport,
  DnsReport,
  DnsSourceReport,
  ExchangeOutcome,
  HttpHeadersReport,
  HttpReport,
  LayerReport,
  PathConnectReport,
  PathExchangeReport,
  PathReport,
  ProbeAddress,
  ProbeHeader,
  ProbeLayer,
  ProbeReport,
  TcpAttemptReport,
  TcpReport,
  TlsReport,
  Verdict,
} from './probe/report.ts';
export type { AllCallback, AnyCallback, OneCallback } from './transport/dns/lookup.ts';
export type {
  DnsCacheEvents,
  DnsCacheStats,
  DnsChangeEvent,
  DnsEntry,
  DnsFailureEvent,
  DnsLookupFunction,
  DnsOptions,
  DnsRefreshEvent,
  DnsResolveOptions,
  DnsResult,
  DnsSource,
  DnsStaleEvent,
  ResolvedAddress,
  ResolvedDnsOptions,
} from './transport/dns-cache.ts';

// DNS: the cache the client uses, also usable on its own (its `lookup` fits database drivers).
export { DNS_DEFAULTS, DnsCache } from './transport/dns-cache.ts';

// Outlier ejection per address (the client's `outlier` option): its events and per-address stats.
export type {
  AddressStatsSnapshot,
  EjectionReason,
  OutlierEjectEvent,
  OutlierReturnEvent,
} from './transport/outlier-detection.ts';
export type {
  OutlierOptions,
  OutlierSuccessRateOptions,
  ResolvedOutlier,
  ResolvedSuccessRate,
} from './transport/outlier-options.ts';
export { OUTLIER_DEFAULTS } from './transport/outlier-options.ts';

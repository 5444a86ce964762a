/**
 * The timeouts handed to undici's dispatcher, from a call's (or the client's) budgets.
 */
import type { ResolvedTimeouts } from '../policy/timeouts.ts';

/**
 * The headers timeout to hand undici. undici's headers timer starts when the request is sent, so
 * it can fire before the attempt's own deadline only when `headers` is shorter than the attempt
 * budget: then undici gets `headers`. Otherwise the attempt's deadline always comes first and
 * undici needs no headers timer of its own; it then gets the body timeout when that is at least
 * the attempt budget (so it can never fire first either), because undici re-arms one timer per
 * response when its headers and body timeouts are equal and makes a new one twice per response
 * when they differ; or 0 (no headers timer) when the body timeout is shorter. Each timeout governs
 * its own phase: a short `body` never cuts the wait for the headers.
 */
export function undiciHeadersTimeout(timeout: ResolvedTimeouts): number {
  if (timeout.headers < timeout.attempt) return timeout.headers;
  return timeout.body >= timeout.attempt ? timeout.body : 0;
}

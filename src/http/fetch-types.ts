/**
 * The types of `client.fetch`: what it takes (a URL or a `Request`, and a standard `RequestInit`
 * with Bulwark's per-call options) and the `Response` it resolves with.
 */
import type {
  Request as UndiciRequest,
  RequestInit as UndiciRequestInit,
  fetch as undiciFetch,
} from 'undici';
import type { CallOptions } from './call-config.ts';
import type { Hooks } from './hook-options.ts';

/**
 * The `init` of `client.fetch`: a standard `RequestInit` (its `dispatcher` too: the call goes out
 * on it, every policy still on) plus Bulwark's per-call overrides.
 */
export type FetchInit = UndiciRequestInit &
  Omit<CallOptions, 'hooks'> & {
    /** Hooks for this call, run after the client's; `response` is the `Response`. */
    hooks?: Hooks<FetchResponse>;
  };

/** What `client.fetch` accepts as its first argument: a URL, or a `Request` (the global one or undici's). */
export type FetchInput = string | URL | Request | UndiciRequest;

/** The `Response` type `client.fetch` resolves with (undici's, the same API as the global one). */
export type FetchResponse = Awaited<ReturnType<typeof undiciFetch>>;

/**
 * The deadline propagation header (`deadlineHeader`): the call's remaining total budget in whole
 * milliseconds, added to a request's headers (in whichever shape they came) without touching the
 * caller's own object, so the server can give up when the client will have.
 */
import { Headers as UndiciHeaders } from 'undici';
import type { Clock } from '../clock/clock.ts';

/** What the header is computed from. */
export interface DeadlineHeaderCall {
  /** The header's name, or `false` for none. */
  readonly deadlineHeader: string | false;
  /** Clock time the call's total budget runs out. */
  readonly deadline: number;
  readonly clock: Clock;
}

/**
 * `headers` with the deadline header added (or `headers` itself when the client sends none): a
 * record gets a key, a flat `[name, value, …]` list (undici's request API) two more items, a list
 * of pairs one more pair, and a `Headers` object is copied into undici's `Headers`.
 */
export function withDeadline<H>(headers: H, call: DeadlineHeaderCall): H {
  const name = call.deadlineHeader;
  if (name === false) return headers;
  const value = String(Math.max(0, Math.floor(call.deadline - call.clock.now())));
  return withHeaderValues(headers, { [name]: value });
}

/**
 * `headers` (any shape a caller may give) with `extra` added, without touching the caller's
 * object: a record gets the keys, a flat `[name, value, …]` list (undici's request API) or a list
 * of pairs more items, and a `Headers` object is copied into undici's `Headers` (where a name
 * already set is replaced).
 */
export function withHeaderValues<H>(headers: H, extra: Readonly<Record<string, string>>): H {
  if (headers === undefined || headers === null) return { ...extra } as H;
  if (Array.isArray(headers)) {
    const out: unknown[] = [...headers];
    const pairs = headers.length > 0 && Array.isArray(headers[0]);
    for (const name in extra) {
      if (pairs) out.push([name, extra[name]]);
      else out.push(name, extra[name]);
    }
    return out as H;
  }
  if (typeof (headers as { forEach?: unknown }).forEach === 'function') {
    const merged = new UndiciHeaders(headers as unknown as ConstructorParameters<typeof UndiciHeaders>[0]);
    for (const name in extra) merged.set(name, extra[name] as string);
    return merged as H;
  }
  return { ...(headers as object), ...extra } as H;
}

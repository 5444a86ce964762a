/**
 * Runs resolutions for the DNS cache: the fallback rule (system or resolver, see
 * `system-names.ts`), one deadline per resolution on the injected clock, and cancellation of
 * everything in flight on close.
 */
import { getServers } from 'node:dns';
import { Resolver } from 'node:dns/promises';
import type { TimerHandle } from '../../clock/clock.ts';
import type { ResolvedDnsOptions } from './options.ts';
import { fromError, type Outcome, queryResolver, querySystem } from './query.ts';
import { isSearchListName, systemNameFor } from './system-names.ts';

/** c-ares tries each server this often; the per-try timeout is the deadline split across them. */
const TRIES = 2;

/** The resolutions of one cache. */
export class Resolutions {
  readonly #o: ResolvedDnsOptions;
  readonly #resolver: Resolver;
  readonly #running = new Set<(outcome: Outcome) => void>();
  #closed = false;

  constructor(o: ResolvedDnsOptions) {
    this.#o = o;
    const servers = o.servers ?? getServers();
    // Our own timer enforces `timeout`; c-ares only needs per-try timeouts that fit inside it, so one
    // lost datagram is retransmitted. Its backoff stretches later tries, so a query can outlive the
    // deadline a little; its late answer is ignored, and close() cancels it.
    this.#resolver = new Resolver({
      timeout: Math.max(1, Math.floor(o.timeout / (TRIES * Math.max(1, servers.length)))),
      tries: TRIES,
    });
    if (servers.length > 0) this.#resolver.setServers(servers);
  }

  /** Resolves `key` under the deadline (`DNS_TIMEOUT` when it passes). Never rejects. */
  run(key: string): Promise<Outcome> {
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    const clock = this.#o.clock;
    return new Promise((resolve) => {
      const finish = (outcome: Outcome): void => {
        if (!this.#running.delete(finish)) return;
        clock.clearTimeout(timer);
        resolve(outcome);
      };
      this.#running.add(finish);
      const timer = unref(
        clock.setTimeout(
          () => finish({ kind: 'failure', code: 'DNS_TIMEOUT', cause: undefined }),
          this.#o.timeout,
        ),
      );
      this.#ask(key).then(finish, (err: unknown) => finish(fromError(err)));
    });
  }

  /** Finishes every resolution in flight with `closed` and cancels the resolver's queries. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const finish of [...this.#running]) finish({ kind: 'closed' });
    this.#resolver.cancel();
  }

  async #ask(key: string): Promise<Outcome> {
    const o = this.#o;
    const systemName = await systemNameFor(key);
    if (systemName !== undefined) return this.#closed ? { kind: 'closed' } : querySystem(systemName, o);
    const out = await queryResolver(this.#resolver, key, o);
    if (
      out.kind === 'negative' &&
      out.code === 'DNS_NOT_FOUND' &&
      o.servers === undefined &&
      !this.#closed &&
      (await isSearchListName(key))
    ) {
      return querySystem(key, o);
    }
    return out;
  }
}

/** Timers of the system clock must not keep the process alive; a virtual clock's have no `unref`. */
export function unref(handle: TimerHandle): TimerHandle {
  (handle as { unref?: () => void } | undefined)?.unref?.();
  return handle;
}

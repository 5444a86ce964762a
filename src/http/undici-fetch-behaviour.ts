/**
 * What the installed undici's fetch does where its 8.x releases differ, found out once by running
 * its public `fetch` against an in-memory dispatcher (the public dispatch-handler API), so the
 * direct path (http/fetch-direct.ts) follows whichever undici the application resolved:
 *
 * - `keepsFalsyAbortReason`: a body aborted with a falsy reason (`null`, `0`, `''`, `false`) errors
 *   with that reason (8.14 and later) rather than with an `AbortError` `DOMException` (before);
 * - `closesOnNullBodyContent`: content sent with a null-body status (a 205 with a body) closes the
 *   connection (8.14 and later) rather than being read and dropped (before).
 *
 * The probe runs on the first direct-path call and settles within that turn's microtasks, before
 * any response can arrive (a response needs I/O); until then the newest behaviour is assumed.
 */
import { fetch as undiciFetch } from 'undici';

export const undiciFetchBehaviour = {
  keepsFalsyAbortReason: true,
  closesOnNullBodyContent: true,
};

const PROBE_ORIGIN = 'http://bulwark-probe.invalid';

interface ProbeController {
  aborted: boolean;
  paused: boolean;
  reason: unknown;
  rawHeaders: Buffer[];
  abort(reason: unknown): void;
  pause(): void;
  resume(): void;
}

type Handler = {
  onRequestStart?(controller: ProbeController, context: unknown): void;
  onResponseStart?(controller: ProbeController, status: number, headers: object, statusText: string): void;
  onResponseData?(controller: ProbeController, chunk: Buffer): void;
  onResponseEnd?(controller: ProbeController, trailers: object): void;
  onResponseError?(controller: ProbeController, err: unknown): void;
};

/** A dispatcher that answers every request at once with `status` and, if given, one body chunk. */
function answering(status: number, chunk: Buffer | null, aborted: (reason: unknown) => void) {
  return {
    dispatch(_opts: unknown, handler: Handler): boolean {
      const controller: ProbeController = {
        aborted: false,
        paused: false,
        reason: null,
        rawHeaders: [],
        abort(reason) {
          if (this.aborted) return;
          this.aborted = true;
          this.reason = reason;
          aborted(reason);
          queueMicrotask(() => handler.onResponseError?.(controller, reason));
        },
        pause() {},
        resume() {},
      };
      handler.onRequestStart?.(controller, {});
      handler.onResponseStart?.(controller, status, {}, '');
      if (chunk !== null && !controller.aborted) handler.onResponseData?.(controller, chunk);
      return true;
    },
  };
}

async function probeFalsyReason(): Promise<boolean> {
  const ac = new AbortController();
  const res = await undiciFetch(`${PROBE_ORIGIN}/falsy-reason`, {
    signal: ac.signal,
    dispatcher: answering(200, null, () => {}) as never,
  });
  ac.abort(null);
  const reader = (res.body as ReadableStream).getReader();
  return reader.read().then(
    () => false,
    (err: unknown) => err === null,
  );
}

async function probeNullBodyContent(): Promise<boolean> {
  let closed = false;
  const res = await undiciFetch(`${PROBE_ORIGIN}/null-body-content`, {
    dispatcher: answering(205, Buffer.from('x'), () => {
      closed = true;
    }) as never,
  });
  await res.arrayBuffer();
  return closed;
}

let probed = false;

/** Starts the probe (once); its findings land in {@link undiciFetchBehaviour}. */
export function probeUndiciFetch(): void {
  if (probed) return;
  probed = true;
  Promise.all([probeFalsyReason(), probeNullBodyContent()]).then(
    ([falsy, closes]) => {
      undiciFetchBehaviour.keepsFalsyAbortReason = falsy;
      undiciFetchBehaviour.closesOnNullBodyContent = closes;
      // undici's fetch reported the probes to the resource timeline: they were never requests.
      setImmediate(() => {
        performance.clearResourceTimings(`${PROBE_ORIGIN}/falsy-reason`);
        performance.clearResourceTimings(`${PROBE_ORIGIN}/null-body-content`);
      });
    },
    () => {}, // an undici that fails the probe: the newest behaviour stays assumed
  );
}

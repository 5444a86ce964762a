/**
 * `readyHandler(checks)`: a `node:http` request listener for a readiness endpoint. It answers 200
 * with the health report as JSON when every check is up and 503 otherwise, never cached, and never
 * throws — a readiness endpoint that crashes is worse than one that says "down".
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { runChecks } from './health-check.ts';
import { type HealthCheckOptions, type HealthChecks, type HealthReport, resolveChecks } from './options.ts';

/**
 * A request listener that runs `checks` (see {@link healthCheck}) for each GET or HEAD and answers
 * `200` with the report when all are up, `503` when any is down; other methods get `405`. Responses
 * carry `Cache-Control: no-store`. Requests that arrive while a run is in flight share its result,
 * so a burst of probes (every load balancer node, every kubelet) does not multiply the load on the
 * dependencies being checked.
 *
 * @throws InvalidOptionError (synchronously, at creation) for invalid checks or options.
 * @example
 * ```ts
 * import http from 'node:http';
 * import { httpCheck, poolCheck, readyHandler } from 'bulwark';
 *
 * const ready = readyHandler({ db: poolCheck(pool), auth: httpCheck(client, 'http://auth.internal/health') });
 * http.createServer((req, res) => (req.url === '/ready' ? ready(req, res) : app(req, res))).listen(8080);
 * ```
 */
export function readyHandler(
  checks: HealthChecks,
  options?: HealthCheckOptions,
): (req: IncomingMessage, res: ServerResponse) => void {
  const resolved = resolveChecks(checks, options);
  let inflight: Promise<HealthReport> | undefined;
  const run = (): Promise<HealthReport> => {
    inflight ??= runChecks(resolved).finally(() => {
      inflight = undefined;
    });
    return inflight;
  };
  return (req, res) => {
    try {
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'HEAD') {
        send(res, 405, { error: 'method not allowed: use GET or HEAD' }, false, { allow: 'GET, HEAD' });
        return;
      }
      run().then(
        (report) => send(res, report.status === 'up' ? 200 : 503, report, method === 'HEAD'),
        () => send(res, 503, { status: 'down', checks: {} }, method === 'HEAD'),
      );
    } catch {
      send(res, 503, { status: 'down', checks: {} }, false);
    }
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  head: boolean,
  extra: Record<string, string> = {},
): void {
  try {
    if (res.headersSent || res.writableEnded || res.destroyed) return;
    const json = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(json),
      ...extra,
    });
    res.end(head ? undefined : json);
  } catch {
    // The client went away or the response is unusable: nothing more to do.
    try {
      res.destroy();
    } catch {}
  }
}

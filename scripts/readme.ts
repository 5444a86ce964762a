// Regenerates the README's tables that come from code — the error taxonomy and the defaults — so
// the two cannot drift (test/readme.test.ts fails when they have). Run: npm run readme.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CONNECTIONS_DEFAULT,
  KEEP_ALIVE_DEFAULTS,
  MAX_CONCURRENT_STREAMS_DEFAULT,
} from '../src/client/options.ts';
import { ERROR_CODE_LIST, ERROR_CODES } from '../src/errors/codes.ts';
import { BACKOFF_DEFAULTS } from '../src/policy/backoff.ts';
import { BREAKER_DEFAULTS } from '../src/policy/breaker.ts';
import { BULKHEAD_DEFAULTS } from '../src/policy/bulkhead.ts';
import { HEDGE_DEFAULTS } from '../src/policy/hedge.ts';
import { KEY_LIMIT_DEFAULTS } from '../src/policy/keyed.ts';
import { RETRY_BUDGET_DEFAULTS } from '../src/policy/retry-budget.ts';
import { RETRY_DEFAULTS } from '../src/policy/retry-options.ts';
import { THROTTLE_DEFAULTS } from '../src/policy/throttle.ts';
import { TIMEOUT_DEFAULTS } from '../src/policy/timeouts.ts';
import { DNS_DEFAULTS } from '../src/transport/dns-cache.ts';
import { OUTLIER_DEFAULTS, type ResolvedSuccessRate } from '../src/transport/outlier-options.ts';

/** The error table: one row per code, from `ERROR_CODES`. */
export function errorTable(): string {
  const rows = ERROR_CODE_LIST.map((code) => {
    const c = ERROR_CODES[code];
    const yes = (b: boolean): string => (b ? 'yes' : 'no');
    return `| \`${c.layer}\` | \`${code}\` | ${c.summary} | ${c.examples} | ${yes(c.retryable)} | ${yes(c.mayHaveExecuted)} |`;
  });
  return [
    '| layer | code | meaning | typical original | retryable | may have executed |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

/** The defaults table, from the frozen defaults objects. */
export function defaultsTable(): string {
  const ms = (n: number): string => `${n.toLocaleString('en-US')} ms`;
  const rows: [string, string][] = [
    [
      '`timeout.total` / `timeout.attempt`',
      `${ms(TIMEOUT_DEFAULTS.total)} / ${ms(TIMEOUT_DEFAULTS.attempt)}`,
    ],
    [
      '`timeout.dns` / `connect` / `tls`',
      `${ms(TIMEOUT_DEFAULTS.dns)} / ${ms(TIMEOUT_DEFAULTS.connect)} / ${ms(TIMEOUT_DEFAULTS.tls)}`,
    ],
    [
      '`timeout.headers` / `body` (idle between chunks)',
      `${ms(TIMEOUT_DEFAULTS.headers)} / ${ms(TIMEOUT_DEFAULTS.body)}`,
    ],
    ['`retry.limit`', `${RETRY_DEFAULTS.limit} (${RETRY_DEFAULTS.limit + 1} attempts)`],
    [
      '`retry.backoff`',
      `${BACKOFF_DEFAULTS.jitter} jitter, base ${ms(BACKOFF_DEFAULTS.base)}, cap ${ms(BACKOFF_DEFAULTS.cap)}`,
    ],
    [
      '`retry.budget`',
      `per origin: a reserve of ${RETRY_BUDGET_DEFAULTS.reserve} tokens; a retry costs 1, back if it succeeds; a successful call deposits ${RETRY_BUDGET_DEFAULTS.ratio}; tokens above the reserve fade over ${ms(RETRY_BUDGET_DEFAULTS.window)}; a retry that succeeded raises the reserve by 1, fading over ${ms(RETRY_BUDGET_DEFAULTS.memory)}`,
    ],
    ['`retry.statusCodes`', RETRY_DEFAULTS.statusCodes.join(', ')],
    ['`retry.maxRetryAfter`', ms(RETRY_DEFAULTS.maxRetryAfter)],
    [
      '`breaker`',
      `per origin: open above ${BREAKER_DEFAULTS.threshold} % failures (with 95 % confidence, or all failed) over ${ms(BREAKER_DEFAULTS.window)} with ≥ ${BREAKER_DEFAULTS.minimumCalls} calls; half-open after ${ms(BREAKER_DEFAULTS.resetTimeout)}`,
    ],
    [
      '`throttle`',
      `off; \`true\`: per origin, refuse an attempt with probability (requests − ${THROTTLE_DEFAULTS.k} · accepts) / (requests + 1), at most ${THROTTLE_DEFAULTS.max * 100} %, never below ${THROTTLE_DEFAULTS.minRequests} attempts, counts fading over ${ms(THROTTLE_DEFAULTS.window)}`,
    ],
    [
      '`hedge`',
      `off; \`{ delay }\` (ms or \`'p95'\`): ${HEDGE_DEFAULTS.max} hedge per idempotent call, at most ${HEDGE_DEFAULTS.ratio * 100} % of an origin's calls (\`ratio\`), each paid from the retry budget; \`'p95'\` after ${HEDGE_DEFAULTS.minSamples} responses (\`minSamples\`)`,
    ],
    ['`bulkhead`', `per origin: ${BULKHEAD_DEFAULTS.limit} in flight, ${BULKHEAD_DEFAULTS.queue} queued`],
    [
      '`breaker.key` / `bulkhead.key`',
      `none (per origin); with a key: at most ${KEY_LIMIT_DEFAULTS.maxKeys} live keys (\`maxKeys\`), a key idle for ${ms(KEY_LIMIT_DEFAULTS.keyIdleTimeout)} forgotten (\`keyIdleTimeout\`)`,
    ],
    [
      '`outlier`',
      `on, per origin and address: eject after ${OUTLIER_DEFAULTS.consecutiveFailures} failures in a row, or a success rate below mean − ${(OUTLIER_DEFAULTS.successRate as ResolvedSuccessRate).stdevFactor} σ over ${ms(OUTLIER_DEFAULTS.interval)} (≥ ${(OUTLIER_DEFAULTS.successRate as ResolvedSuccessRate).minimumHosts} addresses with ≥ ${(OUTLIER_DEFAULTS.successRate as ResolvedSuccessRate).requestVolume} calls); for ${ms(OUTLIER_DEFAULTS.baseEjectionTime)} × times ejected, at most ${ms(OUTLIER_DEFAULTS.maxEjectionTime)}; at most ${OUTLIER_DEFAULTS.maxEjectedPercent} % of the addresses, never the last`,
    ],
    ['`connections`', `per origin: ${CONNECTIONS_DEFAULT}`],
    [
      '`throwHttpErrors`',
      'false (a final 5xx/429 resolves, as with fetch; `true` rejects with `HTTP_STATUS`)',
    ],
    ['`deadlineHeader`', 'false (name a header to send the remaining total budget in ms)'],
    ['`dns`', 'a cache with the defaults below (`false`: the system resolver on every connect)'],
    ['`tls`', 'Node’s defaults, verification on (passed to `tls.connect`)'],
    ['`allowH2`', 'false (HTTP/1.1 only; `true` offers h2 by ALPN, falling back to HTTP/1.1)'],
    ['`maxConcurrentStreams`', `per HTTP/2 connection: ${MAX_CONCURRENT_STREAMS_DEFAULT}`],
    ['`keepAlive.idleTimeout`', ms(KEEP_ALIVE_DEFAULTS.idleTimeout)],
    ['`keepAlive.tcpKeepAliveDelay`', ms(KEEP_ALIVE_DEFAULTS.tcpKeepAliveDelay)],
    [
      '`keepAlive.maxLifetime`',
      `${ms(KEEP_ALIVE_DEFAULTS.maxLifetime)} ± ${KEEP_ALIVE_DEFAULTS.lifetimeJitter * 100} %`,
    ],
    [
      '`dns.minTtl` / `maxTtl` / `staleTtl` / `negativeTtl`',
      `${ms(DNS_DEFAULTS.minTtl)} / ${ms(DNS_DEFAULTS.maxTtl)} / ${ms(DNS_DEFAULTS.staleTtl)} / ${ms(DNS_DEFAULTS.negativeTtl)}`,
    ],
  ];
  return ['| option | default |', '| --- | --- |', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
}

/** `text` with the block between `<!-- name:start -->` and `<!-- name:end -->` replaced. */
export function replaceBlock(text: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i === -1 || j === -1 || j < i) throw new Error(`README has no ${start} … ${end} block`);
  return `${text.slice(0, i + start.length)}\n${content}\n${text.slice(j)}`;
}

/** The README as it should be. */
export function renderReadme(current: string): string {
  return replaceBlock(replaceBlock(current, 'errors', errorTable()), 'defaults', defaultsTable());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const path = new URL('../README.md', import.meta.url);
  const current = readFileSync(path, 'utf8');
  const next = renderReadme(current);
  if (next !== current) writeFileSync(path, next);
  console.log(next === current ? 'README is up to date' : 'README tables regenerated');
}

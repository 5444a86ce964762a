/**
 * Time to the first successful query after a silent drop (a NAT forgets every pooled flow):
 * Bulwark's pool with pgFactory against pg's own pg.Pool, both through the same kind of fault
 * proxy, pg.Pool's wait capped.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { pgFactory } from '../../src/pool/drivers/pg.ts';
import { createPool } from '../../src/pool/pool.ts';
import { startFaultProxy } from '../../test/helpers/fault-proxy.ts';

/** Both pools, 4 idle connections each, idle 1.2 s, then every flow dropped: the first query's time. */
export async function silentDrop(url: string, host: string, port: number, cap: number) {
  const u = new URL(url);
  const config = (proxyHost: string, proxyPort: number): pg.ClientConfig => ({
    host: proxyHost,
    port: proxyPort,
    user: decodeURIComponent(u.username) || 'postgres',
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    database: u.pathname.slice(1) || 'postgres',
  });
  const SIZE = 4;

  // Bulwark, defaults (validateAfterIdle 1 s, validationTimeout 1 s).
  const proxyA = await startFaultProxy({ host, port });
  const ours = createPool(pgFactory(config(proxyA.host, proxyA.port)), { min: SIZE, max: SIZE });
  await Promise.all(Array.from({ length: SIZE }, () => ours.use((c) => c.query('SELECT 1'))));
  await sleep(1_200); // idle, as a pool is when a NAT forgets its flows
  await proxyA.setFault({ kind: 'drop' });
  await proxyA.setFault({ kind: 'pass' });
  let start = performance.now();
  await ours.use((c) => c.query('SELECT 1'));
  const bulwarkMs = performance.now() - start;
  await ours.close({ timeout: 1_000 });
  await proxyA.close();

  // pg.Pool, through the same kind of proxy; the wait is capped.
  const proxyB = await startFaultProxy({ host, port });
  const theirs = new pg.Pool({
    ...config(proxyB.host, proxyB.port),
    max: SIZE,
    connectionTimeoutMillis: 5_000,
  });
  theirs.on('error', () => {});
  const clients = await Promise.all(Array.from({ length: SIZE }, () => theirs.connect()));
  for (const c of clients) {
    await c.query('SELECT 1');
    c.release();
  }
  await sleep(1_200);
  await proxyB.setFault({ kind: 'drop' });
  await proxyB.setFault({ kind: 'pass' });
  start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    theirs.query('SELECT 1').then(
      () => 'ok' as const,
      (err: unknown) => `error: ${String(err)}`,
    ),
    new Promise<'capped'>((resolve) => {
      timer = setTimeout(() => resolve('capped'), cap);
    }),
  ]);
  clearTimeout(timer);
  const pgPoolMs = performance.now() - start;
  await proxyB.close(); // tears the hung sockets down so pg.Pool can end
  await theirs.end().catch(() => {});
  return {
    bulwarkMs: Math.round(bulwarkMs),
    pgPoolMs: outcome === 'capped' ? null : Math.round(pgPoolMs),
    pgPoolOutcome: outcome === 'capped' ? `no answer within the ${cap} ms cap` : outcome,
    capMs: cap,
  };
}

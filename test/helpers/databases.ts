// The database servers the pool tests run against. URLs come from DATABASE_URL, MYSQL_URL and
// REDIS_URL (CI sets them and requires the servers to answer). Without DATABASE_URL, PostgreSQL
// is an embedded PGlite socket server on a loopback port, so `npm test` passes on a fresh
// machine; without MYSQL_URL / REDIS_URL the default local address is tried and, if nothing
// answers there, those tests are skipped with a message saying how to start the server.
import net from 'node:net';

/** A database a test can connect to. */
export interface Database {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** PGlite: one backend process behind a socket, no pg_stat_activity / pg_terminate_backend semantics. */
  readonly embedded: boolean;
  /** Stops what the helper started (the embedded server); a no-op for external servers. */
  close(): Promise<void>;
}

/** Whether a database is there: usable, to be skipped (with why), or required but down (a failure). */
export type Availability =
  | { readonly kind: 'up'; readonly db: Database }
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'down'; readonly error: Error };

const HOW_TO_START = {
  postgres:
    'start PostgreSQL with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (trust auth, database "test"), or unset DATABASE_URL to use the embedded PGlite server',
  mysql:
    'start MariaDB with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` (root without password, database "test"), or set MYSQL_URL',
  redis:
    'start Redis with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no`, or set REDIS_URL',
} as const;

/** PostgreSQL: DATABASE_URL if set (it must answer), else an embedded PGlite server on port 0. */
export async function postgresDatabase(): Promise<Availability> {
  const url = process.env.DATABASE_URL;
  if (url !== undefined && url !== '') return external('postgres', url, 5432, true);
  const [{ PGlite }, { PGLiteSocketServer }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite-socket'),
  ]);
  const pglite = await PGlite.create();
  const server = new PGLiteSocketServer({ db: pglite, host: '127.0.0.1', port: 0, maxConnections: 100 });
  await server.start();
  const [host = '127.0.0.1', port = '0'] = server.getServerConn().split(':');
  return {
    kind: 'up',
    db: {
      url: `postgres://postgres@${host}:${port}/postgres`,
      host,
      port: Number(port),
      embedded: true,
      async close() {
        await server.stop();
        await pglite.close();
      },
    },
  };
}

/** MariaDB / MySQL: MYSQL_URL (required to answer), else mysql://root@127.0.0.1:3306/test if it answers. */
export function mysqlDatabase(): Promise<Availability> {
  const url = process.env.MYSQL_URL;
  if (url !== undefined && url !== '') return external('mysql', url, 3306, true);
  return external('mysql', 'mysql://root@127.0.0.1:3306/test', 3306, false);
}

/** Redis: REDIS_URL (required to answer), else redis://127.0.0.1:6379 if it answers. */
export function redisDatabase(): Promise<Availability> {
  const url = process.env.REDIS_URL;
  if (url !== undefined && url !== '') return external('redis', url, 6379, true);
  return external('redis', 'redis://127.0.0.1:6379', 6379, false);
}

async function external(
  kind: keyof typeof HOW_TO_START,
  url: string,
  defaultPort: number,
  required: boolean,
): Promise<Availability> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1';
  const port = u.port === '' ? defaultPort : Number(u.port);
  const problem = await probe(host, port, 1_500);
  if (problem === undefined) {
    return { kind: 'up', db: { url, host, port, embedded: false, close: async () => {} } };
  }
  const where = `${u.protocol}//${host}:${port}`;
  const env = { postgres: 'DATABASE_URL', mysql: 'MYSQL_URL', redis: 'REDIS_URL' }[kind];
  if (required) {
    return {
      kind: 'down',
      error: new Error(`${env} is set but ${where} does not answer (${problem}): ${HOW_TO_START[kind]}`),
    };
  }
  return { kind: 'skip', reason: `no ${kind} server at ${where} (${problem}); ${HOW_TO_START[kind]}` };
}

/** `undefined` when a TCP connect to host:port succeeds within `ms`, else what went wrong. */
function probe(host: string, port: number, ms: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (problem: string | undefined): void => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(ms, () => done(`no answer within ${ms} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

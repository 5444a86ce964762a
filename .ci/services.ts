// Checks that the databases CI requires answer (PostgreSQL, MariaDB, Redis); starts one that has
// stopped when this machine has it installed, and otherwise says how to start it and exits non-zero,
// so CI fails early with that message instead of mid-suite.
import { spawnSync } from 'node:child_process';
import net from 'node:net';

const services = [
  {
    name: 'PostgreSQL',
    env: 'DATABASE_URL',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
  },
  {
    name: 'MariaDB',
    env: 'MYSQL_URL',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd',
  },
  {
    name: 'Redis',
    env: 'REDIS_URL',
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  },
];

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

let failed = false;
for (const s of services) {
  const raw = process.env[s.env];
  if (!raw) continue;
  const url = new URL(raw);
  const port =
    Number(url.port) ||
    { 'postgres:': 5432, 'postgresql:': 5432, 'mysql:': 3306, 'redis:': 6379 }[url.protocol] ||
    0;
  let ok = await reachable(url.hostname, port);
  if (!ok) {
    console.log(`${s.name} does not answer; starting it: ${s.start}`);
    spawnSync('sh', ['-c', s.start], { stdio: 'inherit' });
  }
  for (let i = 0; i < 20 && !ok; i++) {
    ok = await reachable(url.hostname, port);
    if (!ok) await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`${s.name} at ${url.hostname}:${port}: ${ok ? 'ok' : 'NOT ANSWERING'}`);
  if (!ok) {
    failed = true;
    console.error(`  start it with: ${s.start}`);
  }
}
process.exit(failed ? 1 : 0);

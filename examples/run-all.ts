// Runs every example as its own process and fails if any exits non-zero or hangs, so the examples
// in the docs cannot rot. `bulwark` resolves to the sources (scripts/import-from-source.ts): no
// build step, no stale dist/. An example that needs a database gets the variable from the
// environment or, when it names nothing, the local default below; a server that does not answer
// there skips the example with a message, and `--strict` (CI: `npm run examples -- --strict`)
// makes a skip a failure. `npm run examples -- timeouts.ts health-endpoint.ts` runs only those.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const dir = fileURLToPath(new URL('.', import.meta.url));
const hooks = fileURLToPath(new URL('../scripts/import-from-source.ts', import.meta.url));
// Examples that need a server say which variable names it.
const needs: Record<string, string> = {
  'pg-pool.ts': 'DATABASE_URL',
  'pool-failures.ts': 'DATABASE_URL',
  'redis.ts': 'REDIS_URL',
  'fleet-throttle.ts': 'REDIS_URL',
  'fleet-budget.ts': 'REDIS_URL',
  'mysql-pool.ts': 'MYSQL_URL',
};
// Where each server is when the environment names nothing (the examples use the same defaults).
const LOCAL_DEFAULTS: Record<string, string> = {
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
  MYSQL_URL: 'mysql://root@127.0.0.1:3306/test',
  REDIS_URL: 'redis://127.0.0.1:6379',
};
const DEFAULT_PORTS: Record<string, number> = {
  'postgres:': 5432,
  'postgresql:': 5432,
  'mysql:': 3306,
  'redis:': 6379,
  'rediss:': 6379,
};
const TIMEOUT = 60_000;

const { values, positionals } = parseArgs({
  options: { strict: { type: 'boolean', default: false } },
  allowPositionals: true,
});

function run(
  file: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', hooks, file], { cwd: dir, env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(killed after ${TIMEOUT / 1000} s)`;
      child.kill('SIGKILL');
    }, TIMEOUT);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}

/** Whether something accepts a TCP connection at the URL's host and port (within 2 s). */
function answers(url: string): Promise<string | undefined> {
  let host: string;
  let port: number;
  try {
    const u = new URL(url);
    host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
    port = Number(u.port) || DEFAULT_PORTS[u.protocol] || 0;
  } catch {
    return Promise.resolve('the URL does not parse');
  }
  if (port === 0) return Promise.resolve(`no port in ${new URL(url).protocol} URL`);
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    const done = (why: string | undefined): void => {
      socket.destroy();
      resolve(why);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done(`nothing answered at ${host}:${port} within 2 s`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${host}:${port}: ${err.code ?? err.message}`));
  });
}

const all = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts')
  .sort();
const unknown = positionals.filter((f) => !all.includes(f));
if (unknown.length > 0) {
  console.error(`no such example: ${unknown.join(', ')} (examples: ${all.join(', ')})`);
  process.exit(2);
}
const files = positionals.length > 0 ? all.filter((f) => positionals.includes(f)) : all;

let failed = 0;
let skipped = 0;
let passed = 0;
for (const file of files) {
  const env = { ...process.env };
  const name = needs[file];
  if (name !== undefined) {
    const url = process.env[name] || LOCAL_DEFAULTS[name];
    if (url === undefined) throw new Error(`run-all: no local default for ${name}`);
    env[name] = url;
    const why = await answers(url);
    if (why !== undefined) {
      skipped++;
      const source = process.env[name] ? name : `${name} unset, the local default`;
      console.log(
        `${values.strict ? 'FAIL' : 'skip'}  ${file}  (${source}: ${why}; start the server or set ${name})`,
      );
      continue;
    }
  }
  const { code, output, ms } = await run(file, env);
  const ok = code === 0;
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${file}  (${(ms / 1000).toFixed(1)} s${ok ? '' : `, exit ${code}`})`);
  if (!ok) console.log(output.replace(/^/gm, '      '));
}
const strictFailures = values.strict ? skipped : 0;
console.log(
  `examples: ${passed} passed, ${failed + strictFailures} failed${skipped > 0 ? `, ${skipped} skipped` : ''}` +
    (strictFailures > 0 ? ' (--strict: a skipped example fails)' : ''),
);
process.exit(failed + strictFailures === 0 ? 0 : 1);

// Runs every example as its own process against the built package (npm run build first) and
// fails if any exits non-zero or hangs, so the examples in the docs cannot rot. CI runs this.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
// Examples that need a database say which variable; without it they are skipped here.
const needs: Record<string, string> = {
  'pg-pool.ts': 'DATABASE_URL',
  'pool-failures.ts': 'DATABASE_URL',
  'redis.ts': 'REDIS_URL',
  'mysql-pool.ts': 'MYSQL_URL',
};
const TIMEOUT = 60_000;

function run(file: string): Promise<{ code: number | null; output: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [file], { cwd: dir, env: process.env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, ms: performance.now() - started });
    });
  });
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run-all.ts')
  .sort();
let failed = 0;
for (const file of files) {
  const env = needs[file];
  if (env !== undefined && !process.env[env]) {
    console.log(`skip  ${file} (set ${env} to run it)`);
    continue;
  }
  const { code, output, ms } = await run(file);
  const ok = code === 0;
  if (!ok) failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'}  ${file}  (${(ms / 1000).toFixed(1)} s${ok ? '' : `, exit ${code}`})`);
  if (!ok) console.log(output.replace(/^/gm, '      '));
}
process.exit(failed === 0 ? 0 : 1);

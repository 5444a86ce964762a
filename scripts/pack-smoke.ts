// The README quick start, run in a fresh directory against the packed tarball (`npm pack`): proves
// the published package installs, imports (ESM + types), runs, and that its bin works. CI runs it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
const run = (cmd: string, args: string[], cwd = dir): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const tarball = run(npm, ['pack', '--silent', '--pack-destination', dir], root).trim().split('\n').pop()!;
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'quickstart', private: true, type: 'module' }),
  );
  run(npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)]);

  // The README's quick start, against a local server that fails twice before it answers.
  writeFileSync(
    join(dir, 'quickstart.mjs'),
    `
import { createServer } from 'node:http';
import { createClient, createPool, isBulwarkError, responseInfo } from 'bulwark';

let calls = 0;
const server = createServer((_req, res) => {
  calls++;
  res.statusCode = calls <= 2 ? 503 : 200;
  res.end(JSON.stringify({ users: ['ada'] }));
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = 'http://127.0.0.1:' + server.address().port + '/v1/users';

const client = createClient();
try {
  const res = await client.fetch(url, { timeout: { total: 5_000 } });
  const body = await res.json();
  const { attempts } = responseInfo(res);
  if (res.status !== 200 || body.users[0] !== 'ada' || attempts !== 3) throw new Error('unexpected result');
  const closed = createServer();
  await new Promise((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedPort = closed.address().port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await client.fetch('http://127.0.0.1:' + closedPort + '/').catch((err) => err);
  if (!isBulwarkError(refused) || refused.layer !== 'tcp') throw new Error('expected a tcp BulwarkError');
  const pool = createPool({ create: async () => ({ id: 1 }), destroy: () => {} });
  const id = await pool.use((conn) => conn.id);
  await pool.close();
  console.log('quick start ok:', res.status, attempts, 'attempts;', refused.code, '; pool', id);
} finally {
  await client.close();
  server.close();
}
`,
  );
  process.stdout.write(run(process.execPath, ['quickstart.mjs']));
  // The subpath exports resolve, and the bin answers.
  run(process.execPath, [
    '-e',
    "await import('bulwark/pg'); await import('bulwark/mysql2'); await import('bulwark/ioredis')",
    '--input-type=module',
  ]);
  const help = run(join(dir, 'node_modules', '.bin', 'bulwark'), ['probe', '--help']);
  if (!help.includes('Usage: bulwark probe')) throw new Error('bulwark probe --help did not print its usage');
  console.log('subpath exports ok; bulwark probe --help ok');
} finally {
  rmSync(dir, { recursive: true, force: true });
}

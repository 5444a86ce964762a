// A network of its own for the path-layer tests: three Linux network namespaces made for this test
// run — client, middle (a router) and server — joined by veth pairs, with faults on the middle
// router or the server made with real netfilter (nftables) and real routes. Every address lives
// inside these namespaces; nothing in the root namespace (its interfaces, routes, netfilter
// rules, sysctls) is touched. Processes run inside them with `ip netns exec` (Node cannot enter a
// namespace itself); names are unique per process and run, and everything is removed after the
// test, on process exit, and (for namespaces a killed run left behind) before the next one.
//
// Where namespaces cannot be made (not Linux, not root, no iproute2 or nftables), tests skip
// with `netnsUnavailable()`'s reason; with BULWARK_REQUIRE_NETNS=1 (CI) they fail instead. Each
// test bed built is logged to the file BULWARK_NETNS_LOG names, so CI can show that they ran.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The addresses of the test network (inside its namespaces only). */
export const CLIENT_ADDRESS = '10.71.1.2';
export const SERVER_ADDRESS = '10.71.2.2';
const MIDDLE_CLIENT_SIDE = '10.71.1.1';
const MIDDLE_SERVER_SIDE = '10.71.2.1';

const PREFIX = 'bwk';
const NAME = /^bwk(\d+)-\d+-[cms]$/;

/** What the middle router and the server do to packets. */
export interface PathFaults {
  /**
   * The MTU of the route through the middle namespace (both ways), below the 1 500 of every
   * link: a tunnel's overhead, say. Off by default.
   */
  mtu?: number;
  /** The middle namespace drops the ICMP "fragmentation needed" it would send: an MTU blackhole. */
  dropFragNeeded?: boolean;
  /** The server namespace drops this share (0–100) of incoming SYNs to `synPort`, at random. */
  synDropPercent?: number;
  /** The port whose SYNs are dropped. */
  synPort?: number;
}

/** One namespace of a test bed. */
export interface Namespace {
  readonly name: string;
  /** Runs `command` inside the namespace; resolves with its stdout, rejects unless it exits 0. */
  exec(command: string, args: readonly string[], input?: string): Promise<string>;
  /**
   * Starts `node script ...args` inside the namespace and resolves once it printed its first line
   * (its "ready" line, returned); the process is ended with the test bed.
   */
  startNode(
    script: string,
    args?: readonly string[],
  ): Promise<{ readonly line: string; readonly child: ChildProcess }>;
  /** Runs `node script ...args` inside the namespace to its end; resolves with how it ended. */
  runNode(script: string, args?: readonly string[]): Promise<NodeRun>;
}

/** How a process run to its end ended. */
export interface NodeRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The test network: client ↔ middle ↔ server. */
export interface PathBed extends AsyncDisposable {
  readonly client: Namespace;
  readonly middle: Namespace;
  readonly server: Namespace;
  close(): Promise<void>;
}

let counter = 0;
/** Namespaces made and not yet removed, and the processes started in them (for exit). */
const live = new Set<string>();
const allChildren = new Set<ChildProcess>();
let exitHook = false;

/**
 * Why namespace tests cannot run here, or `undefined` when they can. With
 * `BULWARK_REQUIRE_NETNS=1` a reason throws instead (CI promises root and iproute2).
 */
export async function netnsUnavailable(): Promise<string | undefined> {
  const reason = await probeSupport();
  if (reason !== undefined && process.env.BULWARK_REQUIRE_NETNS === '1') {
    throw new Error(`BULWARK_REQUIRE_NETNS=1 but network namespaces cannot be made: ${reason}`);
  }
  return reason;
}

async function probeSupport(): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'making network namespaces needs root (uid 0)';
  for (const [tool, install] of [
    ['ip', 'install iproute2'],
    ['nft', 'apt-get install nftables, as .ci/run does'],
  ] as const) {
    try {
      await run(tool, ['-V']);
    } catch {
      return `the ${tool} command is missing (${install})`;
    }
  }
  await sweepStale();
  const name = `${PREFIX}${process.pid}-${++counter}-c`;
  try {
    await run('ip', ['netns', 'add', name]);
    await run('ip', ['netns', 'del', name]);
  } catch (err) {
    return `ip netns add failed: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`;
  }
  return undefined;
}

/** Removes namespaces of this prefix whose process is gone (a run that was killed). */
async function sweepStale(): Promise<void> {
  const { stdout } = await run('ip', ['netns', 'list']);
  for (const line of stdout.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const pid = NAME.exec(name)?.[1];
    if (pid === undefined || alive(Number(pid))) continue;
    await run('ip', ['netns', 'del', name]).catch(() => {});
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds client ↔ middle ↔ server with `faults`. Call {@link netnsUnavailable} first. */
export async function createPathBed(faults: PathFaults = {}): Promise<PathBed> {
  const id = `${PREFIX}${process.pid}-${++counter}`;
  const names = { client: `${id}-c`, middle: `${id}-m`, server: `${id}-s` };
  if (!exitHook) {
    exitHook = true;
    process.once('exit', removeAllSync);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        removeAllSync();
        process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
      });
    }
  }
  const created: string[] = [];
  const children = new Set<ChildProcess>();
  const ns = (name: string): Namespace => namespace(name, children);
  try {
    for (const name of Object.values(names)) {
      await run('ip', ['netns', 'add', name]);
      created.push(name);
      live.add(name);
    }
    const { client, middle, server } = names;
    // veth pairs created inside the namespaces: no interface ever exists in the root namespace.
    await ip(client, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'toc', 'netns', middle);
    await ip(server, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'tos', 'netns', middle);
    await ip(client, 'addr', 'add', `${CLIENT_ADDRESS}/24`, 'dev', 'eth0');
    await ip(server, 'addr', 'add', `${SERVER_ADDRESS}/24`, 'dev', 'eth0');
    await ip(middle, 'addr', 'add', `${MIDDLE_CLIENT_SIDE}/24`, 'dev', 'toc');
    await ip(middle, 'addr', 'add', `${MIDDLE_SERVER_SIDE}/24`, 'dev', 'tos');
    for (const [name, dev] of [
      [client, 'eth0'],
      [server, 'eth0'],
      [middle, 'toc'],
      [middle, 'tos'],
      [client, 'lo'],
      [server, 'lo'],
      [middle, 'lo'],
    ] as const) {
      await ip(name, 'link', 'set', dev, 'up');
    }
    await ip(client, 'route', 'add', 'default', 'via', MIDDLE_CLIENT_SIDE);
    await ip(server, 'route', 'add', 'default', 'via', MIDDLE_SERVER_SIDE);
    await ns(middle).exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const bed: PathBed = {
      client: ns(client),
      middle: ns(middle),
      server: ns(server),
      close: () => removeBed(created, children),
      [Symbol.asyncDispose]: () => removeBed(created, children),
    };
    await applyFaults(names, faults);
    announce(id, faults);
    return bed;
  } catch (err) {
    await removeBed(created, children);
    throw err;
  }
}

async function applyFaults(names: { middle: string; server: string }, f: PathFaults): Promise<void> {
  const mtu = f.mtu === undefined ? [] : ['mtu', 'lock', String(f.mtu)];
  // The route MTU applies to forwarded packets: full-size ones are too big for it.
  await ip(names.middle, 'route', 'replace', '10.71.1.0/24', 'dev', 'toc', ...mtu);
  await ip(names.middle, 'route', 'replace', '10.71.2.0/24', 'dev', 'tos', ...mtu);
  await nft(
    names.middle,
    f.dropFragNeeded
      ? [
          'chain output {',
          '  type filter hook output priority 0; policy accept;',
          '  icmp type destination-unreachable icmp code frag-needed drop',
          '  icmpv6 type packet-too-big drop',
          '}',
        ]
      : [],
  );
  const share = f.synDropPercent ?? 0;
  await nft(
    names.server,
    share > 0
      ? [
          'chain input {',
          '  type filter hook input priority 0; policy accept;',
          `  tcp dport ${f.synPort ?? 0} tcp flags & (syn | ack) == syn numgen random mod 100 < ${share} drop`,
          '}',
        ]
      : [],
  );
}

/** Replaces the namespace's `bulwark` nftables table with `chains` (none: no table). */
async function nft(name: string, chains: readonly string[]): Promise<void> {
  const script = [
    'table inet bulwark',
    'delete table inet bulwark',
    ...(chains.length > 0 ? ['table inet bulwark {', ...chains, '}'] : []),
  ];
  await namespace(name, new Set()).exec('nft', ['-f', '-'], `${script.join('\n')}\n`);
}

function ip(name: string, ...args: string[]): Promise<unknown> {
  return run('ip', ['-n', name, ...args]);
}

/** The namespace `name`; processes started in it are kept in `children` (its bed's). */
function namespace(name: string, children: Set<ChildProcess>): Namespace {
  const track = (child: ChildProcess): void => {
    children.add(child);
    allChildren.add(child);
    child.once('exit', () => {
      children.delete(child);
      allChildren.delete(child);
    });
  };
  const runToEnd = (command: string, args: readonly string[], input?: string): Promise<NodeRun> => {
    const child = spawn('ip', ['netns', 'exec', name, command, ...args], { stdio: 'pipe' });
    track(child);
    return new Promise<NodeRun>((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d;
      });
      child.stderr.on('data', (d: Buffer) => {
        stderr += d;
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      // A process that exits without reading its input must not become an EPIPE.
      child.stdin.on('error', () => {});
      child.stdin.end(input ?? '');
    });
  };
  return {
    name,
    exec: async (command, args, input) => {
      const r = await runToEnd(command, args, input);
      if (r.code !== 0)
        throw new Error(`${command} ${args.join(' ')} in ${name} exited ${r.code}: ${r.stderr}${r.stdout}`);
      return r.stdout;
    },
    runNode: (script, args = []) => runToEnd(process.execPath, ['--no-warnings', script, ...args]),
    startNode: async (script, args = []) => {
      // stdin stays open: the process ends when it closes (this test process died).
      const child = spawn('ip', ['netns', 'exec', name, process.execPath, '--no-warnings', script, ...args], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      track(child);
      child.stdin?.on('error', () => {});
      const lines = createInterface({ input: child.stdout! });
      const line = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) =>
          reject(new Error(`${script} in ${name} exited ${code} before it was ready`)),
        );
      });
      return { line, child };
    },
  };
}

async function removeBed(names: readonly string[], children: Set<ChildProcess>): Promise<void> {
  if (names.every((n) => !live.has(n))) return;
  // Processes first: a namespace lives on while a process is inside it.
  await Promise.all(
    [...children].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }),
  );
  for (const name of names) {
    if (!live.delete(name)) continue;
    await run('ip', ['netns', 'del', name]).catch(() => {});
  }
}

/** On exit (a test that threw, a Ctrl-C'd run that still exits): nothing is left behind. */
function removeAllSync(): void {
  for (const child of allChildren) child.kill('SIGKILL');
  for (const name of live) {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {}
  }
  live.clear();
}

function announce(id: string, faults: PathFaults): void {
  const log = process.env.BULWARK_NETNS_LOG;
  if (log === undefined || log === '') return;
  const test = process.argv[1]?.split('/test/').at(-1) ?? '?';
  appendFileSync(log, `test/${test}: namespaces ${id}-{c,m,s} ${JSON.stringify(faults)}\n`);
}

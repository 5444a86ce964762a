// SYN loss, for real: the server's namespace drops a share of incoming SYNs at random (nftables
// `numgen random`), and `bulwark probe --samples` must estimate that share from the connect times
// alone (each lost SYN delays a connect to the next retransmit point). With ~1 000 SYNs the
// estimate's standard error is about 1 percentage point, so ±5 points holds run after run.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ProbeReport } from '../../src/probe/report.ts';
import { createPathBed, netnsUnavailable, type PathBed, SERVER_ADDRESS } from '../helpers/netns.ts';

const BIN = new URL('../../src/bin/bulwark.ts', import.meta.url).pathname;
const SERVER = new URL('../helpers/netns-server.ts', import.meta.url).pathname;
const PORT = 8080;
/** The share of SYNs the server's namespace drops, in percent. */
const DROPPED = 10;
const SAMPLES = 1_000;

const skip = await netnsUnavailable();

describe(`${DROPPED} % of SYNs dropped at random by the server's netfilter`, { skip }, () => {
  let bed: PathBed;
  before(async () => {
    bed = await createPathBed({ synDropPercent: DROPPED, synPort: PORT });
    await bed.server.startNode(SERVER, [JSON.stringify({ http: PORT })]);
  });
  after(() => bed?.close());

  it(`probe --samples ${SAMPLES}: path suspect, the estimated loss within ±5 points of ${DROPPED} %`, async () => {
    const run = await bed.client.runNode(BIN, [
      'probe',
      `http://${SERVER_ADDRESS}:${PORT}/`,
      '--json',
      '--samples',
      String(SAMPLES),
      // Room for every sample: 64 at a time, one in ten waiting a second for its retransmission.
      '--path-timeout',
      '8000',
    ]);
    assert.equal(run.stderr, '');
    const report = JSON.parse(run.stdout) as ProbeReport;
    const path = report.layers.path;
    const connects = path.connects[0]!;
    assert.equal(connects.samples, SAMPLES, 'every sample was started within the window');
    assert.ok(connects.connected >= SAMPLES - 5, `${connects.connected} connected`);
    const estimate = path.estimatedLoss!;
    assert.ok(
      Math.abs(estimate - DROPPED / 100) <= 0.05,
      `estimated ${estimate} from ${connects.synsLost} of ${connects.synsSent} SYNs lost; injected ${DROPPED / 100}`,
    );
    assert.ok(connects.retransmitted > 0);
    assert.equal(path.verdict, 'suspect');
    assert.match(
      path.reason,
      /connects to 10\.71\.2\.2:8080 needed a SYN retransmission \(\+1 s or more\).*: about [\d.]+ % of SYNs lost on the path/,
    );
    assert.equal(run.code, 0, 'suspect: exit 0 without --strict');
  });
});

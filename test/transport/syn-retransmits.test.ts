// The SYN-retransmit arithmetic the probe's path layer and the client's stats().path share: the
// kernel's retransmit points, how many SYNs a connect lost from its time, and lost ÷ sent.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  countSyns,
  lostSyns,
  retransmitTimes,
  SIGNATURE_SLACK,
  synRetransmitTimes,
} from '../../src/transport/syn-retransmits.ts';

describe('SYN retransmit points', () => {
  it('RFC 6298 doubling without linear timeouts: 1, 3, 7, 15, 31, 63 s', () => {
    assert.deepEqual(retransmitTimes(0, 6), [1_000, 3_000, 7_000, 15_000, 31_000, 63_000]);
  });

  it("Linux's tcp_syn_linear_timeouts = 4: 1 s apart five times, then doubling", () => {
    assert.deepEqual(retransmitTimes(4, 7), [1_000, 2_000, 3_000, 4_000, 5_000, 7_000, 11_000]);
  });

  it("this machine's schedule follows its sysctls", () => {
    let linear = 0;
    try {
      linear = Number(readFileSync('/proc/sys/net/ipv4/tcp_syn_linear_timeouts', 'utf8'));
    } catch {}
    const times = synRetransmitTimes();
    assert.equal(times[0], 1_000);
    assert.equal(times[1], linear > 0 ? 2_000 : 3_000);
  });
});

describe('lost SYNs from connect times', () => {
  const times = retransmitTimes(0, 6);

  it('counts the retransmit points a connect waited through over the base RTT', () => {
    assert.equal(lostSyns(20, 20, times), 0);
    assert.equal(lostSyns(20 + 1_000 - SIGNATURE_SLACK, 20, times), 1, 'at the edge of the slack');
    assert.equal(lostSyns(20 + 1_000 - SIGNATURE_SLACK - 1, 20, times), 0);
    assert.equal(lostSyns(1_021, 20, times), 1);
    assert.equal(lostSyns(3_030, 20, times), 2);
    assert.equal(lostSyns(7_300, 250, times), 3);
  });

  it('lost ÷ sent: completed connects and ones still pending at the end', () => {
    // Base 5 ms: two clean, one +1 s, one +3 s; one pending after 3.5 s (lost 2 known SYNs).
    const count = countSyns([5, 6, 1_007, 3_004], [3_500], times);
    assert.deepEqual(count, { connected: 4, retransmitted: 2, lost: 5, sent: 9 });
  });

  it('the base defaults to the fastest connect; none gives nothing', () => {
    assert.equal(countSyns([1_200, 200, 210], [], times).retransmitted, 1);
    assert.deepEqual(countSyns([], [], times), { connected: 0, retransmitted: 0, lost: 0, sent: 0 });
  });
});

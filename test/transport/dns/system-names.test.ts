/** Parsing of the files behind the system-fallback rule: the hosts file and resolv.conf's ndots. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseHosts, parseNdots } from '../../../src/transport/dns/system-names.ts';

describe('system names', () => {
  it('parses the names of a hosts file, ignoring comments', () => {
    const names = parseHosts(
      '127.0.0.1 localhost # comment\n# 10.0.0.1 hidden\n10.0.0.2\tDB.internal db  \n\n',
    );
    assert.deepEqual([...names], ['localhost', 'db.internal', 'db']);
  });

  it("reads resolv.conf's last ndots, capped at 15, default 1", () => {
    assert.equal(
      parseNdots('nameserver 10.0.0.1\nsearch ns.svc.cluster.local\noptions ndots:5 timeout:2'),
      5,
    );
    assert.equal(parseNdots('options rotate\noptions ndots:2\noptions ndots:40'), 15);
    assert.equal(parseNdots('nameserver 10.0.0.1'), 1);
  });
});

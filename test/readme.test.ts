// The README's error and defaults tables are generated from the code; this fails when they drift
// (run `npm run readme`), and checks the README keeps its two commands at the top.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { renderReadme } from '../scripts/readme.ts';
import { ERROR_CODE_LIST } from '../src/errors/codes.ts';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('README', () => {
  it('its generated tables match the code (npm run readme)', () => {
    assert.equal(readme, renderReadme(readme));
  });

  it('lists every error code', () => {
    for (const code of ERROR_CODE_LIST) assert.ok(readme.includes(`\`${code}\``), code);
  });

  it('starts with the install and test commands', () => {
    const first = readme.indexOf('```sh');
    const block = readme.slice(first, readme.indexOf('```', first + 5));
    assert.match(block, /npm install/);
    assert.match(block, /npm test/);
  });
});

/** The driver factories check the configuration they are given: a bad one fails at once with an InvalidOptionError naming the argument, instead of a pool that later connects to the driver's defaults. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { ioredisFactory } from '../../src/pool/drivers/ioredis.ts';
import { mysql2Factory } from '../../src/pool/drivers/mysql2.ts';
import { pgFactory } from '../../src/pool/drivers/pg.ts';

const factories = {
  pgFactory: (config: unknown, options?: unknown) => pgFactory(config as never, options as never),
  mysql2Factory: (config: unknown, options?: unknown) => mysql2Factory(config as never, options as never),
  ioredisFactory: (config: unknown, options?: unknown) => ioredisFactory(config as never, options as never),
};

function rejects(make: () => unknown, path: string): void {
  assert.throws(make, (err: unknown) => {
    assert.ok(err instanceof InvalidOptionError, String(err));
    assert.equal(err.path, path);
    assert.match(err.message, new RegExp(`^${path.replace(/\./g, '\\.')} must be `));
    return true;
  });
}

describe('driver factories: the config argument', () => {
  for (const [name, make] of Object.entries(factories)) {
    it(`${name} rejects what is neither a connection string nor a configuration object`, () => {
      for (const bad of [42, '', null, undefined, true, [], ['postgres://db/app'], () => {}]) {
        rejects(() => make(bad), `${name}.config`);
      }
    });
  }

  it('names what a connection string must look like', () => {
    assert.throws(
      () => pgFactory(42 as never),
      /pgFactory\.config must be a connection string \(postgres:\/\/.*received 42/,
    );
    rejects(() => pgFactory('db.internal:5432'), 'pgFactory.config');
    rejects(() => pgFactory('mysql://db/app'), 'pgFactory.config');
    rejects(() => mysql2Factory('postgres://db/app'), 'mysql2Factory.config');
    rejects(() => mysql2Factory('not a url'), 'mysql2Factory.config');
    rejects(() => ioredisFactory('cache:6379'), 'ioredisFactory.config');
  });

  it('checks the fields it reads of the object form, naming the field', () => {
    rejects(() => pgFactory({ host: 42 } as never), 'pgFactory.config.host');
    rejects(() => pgFactory({ host: '' }), 'pgFactory.config.host');
    rejects(() => pgFactory({ port: 'five' } as never), 'pgFactory.config.port');
    rejects(() => pgFactory({ port: 70_000 }), 'pgFactory.config.port');
    rejects(() => pgFactory({ connectionString: 'nope' }), 'pgFactory.config.connectionString');
    rejects(() => mysql2Factory({ port: -1 }), 'mysql2Factory.config.port');
    rejects(() => mysql2Factory({ uri: 'nope' }), 'mysql2Factory.config.uri');
    rejects(() => ioredisFactory({ host: 6379 } as never), 'ioredisFactory.config.host');
    rejects(() => ioredisFactory({ port: 1.5 }), 'ioredisFactory.config.port');
  });

  it('accepts the forms the drivers document', () => {
    for (const ok of [
      'postgres://app:secret@db.internal:5432/app',
      'postgresql://db.internal/app?sslmode=require',
      'socket:/var/run/postgresql?db=app',
      '/var/run/postgresql',
      {},
      { host: 'db.internal', port: 5432, database: 'app', user: 'app' },
      { port: '6432' },
    ]) {
      assert.ok(pgFactory(ok as never).target, JSON.stringify(ok));
    }
    assert.deepEqual(
      { ...pgFactory('postgres://app:secret@db.internal:6432/app').target },
      { origin: 'postgres://db.internal:6432', host: 'db.internal', port: 6432, database: 'app' },
      'the target names the database, never the password',
    );
    assert.equal(pgFactory({ host: 'db', database: 'orders' }).target?.database, 'orders');
    assert.equal(pgFactory('socket:/var/run/postgresql?db=app').target?.database, process.env.PGDATABASE);
    assert.equal(mysql2Factory('mysql://root:pw@db:3306/shop').target?.database, 'shop');
    assert.equal(ioredisFactory('redis://:pw@cache:6379/2').target?.database, '2');
    for (const ok of [
      'mysql://root@127.0.0.1:3306/test',
      'mariadb://db/shop',
      {},
      { host: 'db', port: 3306 },
    ]) {
      assert.ok(mysql2Factory(ok as never).target, JSON.stringify(ok));
    }
    for (const ok of [
      'redis://127.0.0.1:6379/0',
      'rediss://cache.internal',
      {},
      { host: 'cache', port: 6380 },
    ]) {
      assert.ok(ioredisFactory(ok as never).target, JSON.stringify(ok));
    }
  });

  it('validates statementTimeout like every duration', () => {
    for (const [name, make] of Object.entries(factories)) {
      rejects(() => make({}, { statementTimeout: -1 }), `${name}.options.statementTimeout`);
      rejects(() => make({}, { statementTimeout: '15s' }), `${name}.options.statementTimeout`);
      rejects(
        () => make({}, { statementTimeout: Number.POSITIVE_INFINITY }),
        `${name}.options.statementTimeout`,
      );
      assert.ok(make({}, { statementTimeout: 0 }), '0 leaves the database setting');
    }
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { type Config, ConfigError, type Environment, loadConfig } from '../src/config.js';
import { Keyring } from '../src/crypto/envelope.js';
import { resolveMasterKeys } from '../src/crypto/master-key.js';

const root = mkdtempSync(path.join(tmpdir(), 'patchbay-config-'));
let scratchCount = 0;

/** A path no other test uses, for one data dir. */
function scratch(): string {
  return path.join(root, `case-${++scratchCount}`);
}

function base64Key(bytes = 32): string {
  return randomBytes(bytes).toString('base64');
}

/** An environment that would start: a master key and a private data dir. */
function production(extra: Environment = {}): Environment {
  return { PATCHBAY_MASTER_KEY: base64Key(), PATCHBAY_DATA_DIR: scratch(), ...extra };
}

function refuses(load: () => Config, pattern: RegExp, mustNotContain: string[] = []): ConfigError {
  let caught: unknown;
  assert.throws(load, (error: unknown) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.match(caught.message, pattern);
  for (const secret of mustNotContain) assert.ok(!caught.message.includes(secret), `the message repeats ${secret}: ${caught.message}`);
  return caught;
}

function writeJson(value: unknown): string {
  const file = path.join(root, `declarations-${++scratchCount}.json`);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

function declarations(overrides: { connectors?: unknown[]; integrations?: unknown[]; extra?: Record<string, unknown> } = {}) {
  return {
    connectors: overrides.connectors ?? [
      {
        slug: 'acme',
        name: 'Acme',
        baseUrl: 'https://api.acme.test',
        auth: {
          type: 'oauth2',
          authorizationUrl: 'https://acme.test/authorize',
          tokenUrl: 'https://acme.test/token',
          clientId: 'patchbay',
          clientSecret: { env: 'ACME_CLIENT_SECRET' },
        },
      },
    ],
    integrations: overrides.integrations ?? [{ id: 'acme-sync', name: 'Acme sync', connectors: ['acme'], allowedOrigins: ['https://app.example.com'] }],
    ...overrides.extra,
  };
}

after(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('configuration', () => {
  describe('master key', () => {
    it('refuses to start outside dev mode without PATCHBAY_MASTER_KEY, and names the variable', () => {
      const dataDir = scratch();
      refuses(() => loadConfig([], { PATCHBAY_DATA_DIR: dataDir }), /PATCHBAY_MASTER_KEY/);
      refuses(() => loadConfig([], { PATCHBAY_DATA_DIR: dataDir, PATCHBAY_MASTER_KEY: '' }), /PATCHBAY_MASTER_KEY/);
      refuses(() => loadConfig(['--data-dir', dataDir], { PATCHBAY_DEV: '0' }), /PATCHBAY_MASTER_KEY/);
      assert.equal(existsSync(path.join(dataDir, 'master.key')), false, 'no key is made up outside dev mode');
    });

    it('in dev mode creates master.key with mode 0600 once, when the server starts, then reuses the same key bytes', () => {
      const dataDir = scratch();
      const config = loadConfig(['--dev', '--data-dir', dataDir], {});
      assert.equal(config.masterKeys, null, 'dev mode without PATCHBAY_MASTER_KEY leaves the key to the runtime');
      const file = path.join(dataDir, 'master.key');
      assert.equal(existsSync(file), false, 'loading the configuration writes no key');

      const first = resolveMasterKeys(config);
      assert.equal(first.generatedPath, file, 'the first start reports the generated key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(first.keys.length, 1);
      assert.equal(first.keys[0]?.key.length, 32);

      const second = resolveMasterKeys(loadConfig(['--dev', '--data-dir', dataDir], {}));
      assert.equal(second.generatedPath, null, 'a reused key is not reported as generated');
      assert.deepEqual(second.keys, first.keys);
      const sealed = new Keyring(first.keys).encrypt('credential', 'connections:c1');
      assert.equal(new Keyring(second.keys).decrypt(sealed, 'connections:c1'), 'credential', 'data sealed before a restart opens after it');
    });

    it('in dev mode uses PATCHBAY_MASTER_KEY when it is given and writes no key file', () => {
      const dataDir = scratch();
      const key = randomBytes(32);
      const config = loadConfig(['--dev', '--data-dir', dataDir], { PATCHBAY_MASTER_KEY: key.toString('base64') });
      const resolved = resolveMasterKeys(config);
      assert.deepEqual(
        resolved.keys.map((k) => k.key),
        [key],
      );
      assert.equal(resolved.generatedPath, null);
      assert.equal(existsSync(path.join(dataDir, 'master.key')), false);
    });

    it('rejects a master key that is not 32 bytes of base64, without repeating it', () => {
      for (const bad of [
        base64Key(16),
        base64Key(31),
        base64Key(33),
        base64Key(64),
        'not-a-key',
        `main:${base64Key(24)}`,
        `main:${base64Key(32)},old:${base64Key(12)}`,
      ]) {
        refuses(() => loadConfig([], production({ PATCHBAY_MASTER_KEY: bad })), /PATCHBAY_MASTER_KEY/, [bad.replace(/^[a-z]+:/, '').slice(0, 12)]);
      }
    });

    it('parses id:base64,id2:base64 into two keys in order; the first one encrypts', () => {
      const fresh = randomBytes(32);
      const old = randomBytes(32);
      const config = loadConfig([], production({ PATCHBAY_MASTER_KEY: `fresh:${fresh.toString('base64')}, old:${old.toString('base64')}` }));
      assert.deepEqual(config.masterKeys, [
        { id: 'fresh', key: fresh },
        { id: 'old', key: old },
      ]);
      assert.equal(new Keyring(config.masterKeys).currentKeyId, 'fresh');
    });

    it('rejects duplicate key ids', () => {
      refuses(() => loadConfig([], production({ PATCHBAY_MASTER_KEY: `k:${base64Key()},k:${base64Key()}` })), /PATCHBAY_MASTER_KEY.*unique/);
    });
  });

  describe('loading', () => {
    /** Every path under dir with its size and modification time. */
    function snapshot(dir: string): string[] {
      return readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .sort()
        .map((name) => {
          const stat = statSync(path.join(dir, name));
          return `${name} ${stat.size} ${stat.mtimeMs} ${stat.mode}`;
        });
    }

    it('writes nothing: loading twice, in dev mode and not, inside a read-only directory leaves it as it was', () => {
      const dir = scratch();
      mkdirSync(dir);
      const file = path.join(dir, 'patchbay.config.json');
      writeFileSync(file, JSON.stringify(declarations({ connectors: [], integrations: [] })));
      const dataDir = path.join(dir, 'data');
      const before = snapshot(dir);
      chmodSync(dir, 0o555);
      try {
        for (let round = 0; round < 2; round++) {
          const dev = loadConfig(['--dev', '--data-dir', dataDir, '--config', file], {});
          assert.equal(dev.masterKeys, null);
          const production = loadConfig(['--data-dir', dataDir, '--config', file], { PATCHBAY_MASTER_KEY: base64Key() });
          assert.equal(production.masterKeys?.length, 1);
        }
      } finally {
        chmodSync(dir, 0o755);
      }
      assert.deepEqual(snapshot(dir), before, 'no file or directory was made or changed');
      assert.equal(existsSync(dataDir), false, 'not even the data dir');
    });
  });

  describe('listening', () => {
    it('rejects an invalid PORT with a message that names the port', () => {
      for (const port of ['abc', '70000', '65536', '-1', '80.5', '0x']) {
        refuses(() => loadConfig([], production({ PORT: port })), /port/i);
        refuses(() => loadConfig(['--port', port], production()), /port/i);
      }
    });

    it('refuses dev mode on a non-loopback host before writing anything', () => {
      const cases: Array<[string[], Environment]> = [
        [['--dev', '--host', '0.0.0.0'], {}],
        [['--dev', '--host', '::'], {}],
        [['--dev', '--host', '192.0.2.10'], {}],
        [[], { PATCHBAY_DEV: '1', PATCHBAY_HOST: '0.0.0.0' }],
        [['--host', '0.0.0.0'], { PATCHBAY_DEV: 'true' }],
      ];
      for (const [argv, env] of cases) {
        const dataDir = scratch();
        refuses(() => loadConfig([...argv, '--data-dir', dataDir], env), /loopback/);
        assert.equal(existsSync(path.join(dataDir, 'master.key')), false, 'no dev key is written for a refused start');
      }
    });

    it('listens on loopback by default in dev mode, and on every interface otherwise', () => {
      assert.equal(loadConfig(['--dev', '--data-dir', scratch()], {}).host, '127.0.0.1');
      assert.equal(loadConfig(['--dev', '--host', 'localhost', '--data-dir', scratch()], {}).host, 'localhost');
      assert.equal(loadConfig([], production()).host, '0.0.0.0');
    });

    it('lets flags win over the environment', () => {
      const flagDir = scratch();
      const flagFile = writeJson(declarations({ connectors: [], integrations: [] }));
      const envFile = writeJson({ nonsense: true });
      const config = loadConfig(
        [
          '--port',
          '5001',
          '--host',
          '127.0.0.5',
          '--public-url',
          'https://flag.example.com',
          '--data-dir',
          flagDir,
          '--database-url',
          'sqlite:/tmp/flag.db',
          '--log-level',
          'debug',
          '--config',
          flagFile,
        ],
        production({
          PORT: '6001',
          PATCHBAY_HOST: '10.0.0.6',
          PATCHBAY_PUBLIC_URL: 'https://env.example.com',
          PATCHBAY_DATA_DIR: scratch(),
          DATABASE_URL: 'sqlite:/tmp/env.db',
          PATCHBAY_LOG_LEVEL: 'warn',
          PATCHBAY_CONFIG: envFile,
        }),
      );
      assert.equal(config.port, 5001);
      assert.equal(config.host, '127.0.0.5');
      assert.equal(config.publicUrl, 'https://flag.example.com');
      assert.equal(config.dataDir, flagDir);
      assert.equal(config.databaseUrl, 'sqlite:/tmp/flag.db');
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.configFile, flagFile);
    });

    it('reads the environment when no flag is given', () => {
      const dataDir = scratch();
      const config = loadConfig(
        [],
        production({
          PORT: '6001',
          PATCHBAY_HOST: '10.0.0.6',
          PATCHBAY_PUBLIC_URL: 'https://env.example.com',
          PATCHBAY_DATA_DIR: dataDir,
          PATCHBAY_LOG_LEVEL: 'warn',
        }),
      );
      assert.equal(config.port, 6001);
      assert.equal(config.host, '10.0.0.6');
      assert.equal(config.publicUrl, 'https://env.example.com');
      assert.equal(config.dataDir, dataDir);
      assert.equal(config.databaseUrl, `sqlite:${path.join(dataDir, 'patchbay.db')}`);
      assert.equal(config.logLevel, 'warn');
    });

    it('defaults publicUrl to http://localhost:<port> and drops trailing slashes', () => {
      assert.equal(loadConfig([], production()).publicUrl, 'http://localhost:4400');
      assert.equal(loadConfig([], production({ PORT: '5123' })).publicUrl, 'http://localhost:5123');
      assert.equal(loadConfig(['--port', '5124'], production()).publicUrl, 'http://localhost:5124');
      assert.equal(loadConfig([], production({ PATCHBAY_PUBLIC_URL: 'https://pb.example.com/' })).publicUrl, 'https://pb.example.com');
      assert.equal(loadConfig([], production({ PATCHBAY_PUBLIC_URL: 'https://pb.example.com/patchbay//' })).publicUrl, 'https://pb.example.com/patchbay');
    });

    it('rejects a publicUrl that is not http(s)', () => {
      for (const url of ['ftp://pb.example.com', 'javascript:alert(1)', 'pb.example.com']) {
        refuses(() => loadConfig([], production({ PATCHBAY_PUBLIC_URL: url })), /publicUrl/);
      }
    });

    it('reads partner embed origins as exact origins, dropping the server’s own (its pages use the cookie)', () => {
      const config = loadConfig(
        [],
        production({
          PATCHBAY_PUBLIC_URL: 'https://pb.example.com',
          PATCHBAY_PARTNER_EMBED_ORIGINS: 'https://app.example.com, http://localhost:3000,https://pb.example.com',
        }),
      );
      assert.deepEqual(config.partnerEmbedOrigins, ['https://app.example.com', 'http://localhost:3000']);
      assert.deepEqual(loadConfig([], production()).partnerEmbedOrigins, [], 'no host site may embed unless listed');
      for (const bad of ['https://app.example.com/onboarding', 'app.example.com', 'https://app.example.com/', '*']) {
        refuses(() => loadConfig([], production({ PATCHBAY_PARTNER_EMBED_ORIGINS: bad })), /partnerEmbedOrigins/);
      }
    });

    it('reads PATCHBAY_EXPIRING_SOON_DAYS (default 7) and refuses what is not a whole number of days from 0 to 365', () => {
      assert.equal(loadConfig([], production()).expiringSoonDays, 7);
      assert.equal(loadConfig([], production({ PATCHBAY_EXPIRING_SOON_DAYS: '30' })).expiringSoonDays, 30);
      assert.equal(loadConfig([], production({ PATCHBAY_EXPIRING_SOON_DAYS: '0' })).expiringSoonDays, 0, '0 turns the warning off');
      for (const bad of ['-1', '366', '2.5', 'soon']) {
        refuses(() => loadConfig([], production({ PATCHBAY_EXPIRING_SOON_DAYS: bad })), /expiringSoonDays/);
      }
    });

    it('returns a frozen configuration', () => {
      const config = loadConfig([], production());
      assert.equal(Object.isFrozen(config), true);
    });
  });

  describe('declarations file', () => {
    it('loads connectors and integrations and resolves { "env": NAME } client secrets', () => {
      const file = writeJson(declarations());
      const config = loadConfig(['--config', file], production({ ACME_CLIENT_SECRET: 'from-the-environment' }));
      assert.equal(config.configFile, file);
      const method = config.declarations?.connectors[0]?.authMethods[0];
      assert.equal(method?.type === 'oauth2' ? method.clientSecret : undefined, 'from-the-environment');
      assert.equal(config.declarations?.integrations[0]?.id, 'acme-sync');
      assert.deepEqual(config.declarations?.integrations[0]?.allowedOrigins, ['https://app.example.com']);
    });

    it('has no declarations when no file is given', () => {
      const config = loadConfig([], production());
      assert.equal(config.configFile, null);
      assert.equal(config.declarations, null);
    });

    it('refuses a client secret whose environment variable is missing, naming the variable', () => {
      const file = writeJson(declarations());
      refuses(() => loadConfig(['--config', file], production()), /ACME_CLIENT_SECRET/);
      refuses(() => loadConfig(['--config', file], production({ ACME_CLIENT_SECRET: '' })), /ACME_CLIENT_SECRET/);
    });

    it('refuses an integration that references an unknown connector', () => {
      const file = writeJson(
        declarations({ integrations: [{ id: 'ghost-sync', name: 'Ghost', connectors: ['ghost'], allowedOrigins: ['https://app.example.com'] }] }),
      );
      refuses(() => loadConfig(['--config', file], production({ ACME_CLIENT_SECRET: 's' })), /unknown connector ghost/);
    });

    it('refuses an unknown top-level field', () => {
      const file = writeJson(declarations({ extra: { conectors: [] } }));
      refuses(() => loadConfig(['--config', file], production({ ACME_CLIENT_SECRET: 's' })), /conectors/);
    });

    it('refuses a file that does not exist', () => {
      refuses(() => loadConfig(['--config', path.join(root, 'missing.json')], production()), /missing\.json/);
    });

    it('refuses an invalid file without repeating a literal client secret from it', () => {
      const secret = 'lit3ral-Secret-9Qx';
      const connector = {
        slug: 'acme',
        name: 'Acme',
        baseUrl: 'not a url',
        auth: {
          type: 'oauth2',
          authorizationUrl: 'https://acme.test/authorize',
          tokenUrl: 'https://acme.test/token',
          clientId: 'patchbay',
          clientSecret: secret,
        },
      };
      const file = writeJson(declarations({ connectors: [connector] }));
      refuses(() => loadConfig(['--config', file], production()), /baseUrl/, [secret]);
    });

    it('refuses a file that is not valid JSON without quoting its contents', () => {
      // An operator forgot the quotes around a literal secret: the error must not print it.
      const file = writeJson('{"connectors": [{"slug": "acme", "auth": {"clientSecret": s3cr3tValue42}}]}');
      refuses(() => loadConfig(['--config', file], production()), /declarations-\d+\.json/, ['s3cr3t']);
    });
  });
});

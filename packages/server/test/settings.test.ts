import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../src/config.js';
import { readSettings, type Setting, SETTINGS } from '../src/settings.js';
import { settingsMarkdown, startHelp } from '../src/settings-help.js';
import { runCli } from './support/processes.js';

const entries = Object.entries(SETTINGS as Record<string, Setting>);
const root = mkdtempSync(path.join(tmpdir(), 'patchbay-settings-'));

after(() => rmSync(root, { recursive: true, force: true }));

describe('the settings table', () => {
  it('names each environment variable and each flag once, with one line of help', () => {
    const envs = entries.map(([, entry]) => entry.env);
    const flags = entries.flatMap(([, entry]) => (entry.flag ? [entry.flag] : []));
    assert.equal(new Set(envs).size, envs.length, 'an environment variable is read for two settings');
    assert.equal(new Set(flags).size, flags.length, 'a flag is read for two settings');
    for (const [name, entry] of entries) {
      assert.match(entry.help, /^[^\n]{10,120}$/, `${name}: help is one line`);
      assert.ok(entry.default !== undefined || entry.otherwise, `${name}: the help says what applies when it is unset`);
      assert.ok(!(entry.default !== undefined && entry.otherwise), `${name}: a fixed default and a described one`);
    }
  });

  it('accepts every default it documents, and nothing set at all', () => {
    const defaults = readSettings({}, {});
    for (const [name, entry] of entries) {
      if (entry.default === undefined) continue;
      const parsed = entry.schema.safeParse(entry.default);
      assert.ok(parsed.success, `${name}: its default ${entry.default} does not pass its own schema`);
      assert.deepEqual(defaults[name as keyof typeof defaults], parsed.data, `${name}: the default is what an unset setting reads as`);
    }
  });

  it('reads every setting from its environment variable, and a flag over it', () => {
    // A value each schema accepts and that differs from its default, in the text form an operator writes.
    const samples: Record<string, string> = {
      port: '4401',
      host: '127.0.0.9',
      publicUrl: 'https://pb.example.com',
      dataDir: 'elsewhere',
      databaseUrl: 'sqlite:/tmp/elsewhere.db',
      configFile: 'patchbay.config.json',
      masterKey: 'a-key',
      dev: '1',
      logLevel: 'warn',
      trustProxy: '2',
      workspaceName: 'Acme',
      workspaceColor: '#0f766e',
      workspaceIconUrl: 'https://pb.example.com/icon.png',
      partnerEmbedOrigins: 'https://app.example.com',
      dbSchema: 'tenant_a',
      metricsListen: '127.0.0.1:9464',
      keyCacheSeconds: '5',
      expiringSoonDays: '3',
      headersTimeoutMs: '5000',
    };
    const defaults = readSettings({}, {});
    for (const [name, entry] of entries) {
      const sample = samples[name] ?? String(Number(entry.default) + 1);
      const fromEnv = readSettings({}, { [entry.env]: sample })[name as keyof typeof defaults];
      assert.notDeepEqual(fromEnv, defaults[name as keyof typeof defaults], `${name}: ${entry.env}=${sample} is not read`);
      if (entry.flag) {
        const flagValue = entry.switch ? true : sample;
        const fromFlag = readSettings({ [entry.flag]: flagValue }, { [entry.env]: entry.default ?? '' })[name as keyof typeof defaults];
        assert.deepEqual(fromFlag, fromEnv, `${name}: --${entry.flag} does not win over ${entry.env}`);
      }
    }
  });

  it('names the setting, its variable and its flag when a value is refused', () => {
    assert.throws(
      () => loadConfig(['--port', 'abc'], { PATCHBAY_MASTER_KEY: 'unused' }),
      (error: unknown) => error instanceof ConfigError && /port \(PORT, --port\):/.test(error.message),
    );
    assert.throws(
      () => loadConfig([], { PATCHBAY_DEV: '1', PATCHBAY_EVENT_HEARTBEAT_SECONDS: '0' }),
      (error: unknown) => error instanceof ConfigError && /eventHeartbeatSeconds \(PATCHBAY_EVENT_HEARTBEAT_SECONDS\):/.test(error.message),
    );
  });

  it('lists every setting in start --help and in the README table', () => {
    const help = startHelp();
    const markdown = settingsMarkdown();
    for (const [name, entry] of entries) {
      assert.ok(help.includes(entry.env) && markdown.includes(`\`${entry.env}\``), `${name}: ${entry.env} is not documented`);
      if (entry.flag) assert.ok(help.includes(`--${entry.flag}`) && markdown.includes(`\`--${entry.flag}`), `${name}: --${entry.flag} is not documented`);
    }
    assert.ok(!help.includes('`'), 'the terminal help carries no Markdown');
  });
});

describe('patchbay start --help', () => {
  // A timeout, not a hang, if `--help` ever starts the server again.
  it('prints every setting and exits 0 without starting a server or writing a file', { timeout: 60_000 }, async () => {
    const dataDir = path.join(root, 'data');
    const run = await runCli(['start', '--help', '--dev', '--data-dir', dataDir, '--port', '0'], {});
    assert.equal(run.code, 0, run.stderr);
    for (const [, entry] of entries) assert.ok(run.stdout.includes(entry.env), `${entry.env} is missing from start --help`);
    assert.doesNotMatch(run.stdout, /listening/);
    assert.equal(existsSync(dataDir), false, 'no data dir and no dev master key were made');
  });

  it('is pointed to from patchbay --help, which lists the start flags from the table', { timeout: 60_000 }, async () => {
    const run = await runCli(['--help'], {});
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /patchbay start --help/);
    for (const [, entry] of entries) if (entry.flag) assert.ok(run.stdout.includes(`--${entry.flag}`), `--${entry.flag} is missing from patchbay --help`);
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../src/store/store.js';
import { JWT_PATTERN, waitFor } from './support/keys.js';
import { type Run, runToEnd, STORE_UNDER_TEST } from './support/processes.js';

const SERVER_DIR = fileURLToPath(new URL('..', import.meta.url));
const REPO_DIR = path.resolve(SERVER_DIR, '../..');
const BIN = path.join(SERVER_DIR, 'bin', 'patchbay.js');
/** What BIN runs: the build's bundle (scripts/bundle-cli.mjs). */
const DIST_CLI = path.join(SERVER_DIR, 'dist', 'bundle', 'cli.js');
const KEY_PATTERN = /pbk_[0-9A-Za-z]{28}/g;
/** The running server's key cache window (PATCHBAY_KEY_CACHE_SECONDS, 2 by default). */
const KEY_CACHE_SECONDS = 0.5;

/** The CLI's environment: dev mode from the flag only, no master key, no inherited Patchbay settings. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(PATCHBAY_|DATABASE_URL$|PORT$)/.test(name)) env[name] = value;
  }
  return env;
}

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSourceMtime(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/** Runs the built CLI as a child process, the way an operator would. */
function patchbayCli(args: string[]): Promise<Run> {
  return runToEnd(spawn(process.execPath, [BIN, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Rows of `keys list` by id: id, name, prefix, state, scopes, tenant, ip, expires, last used. */
function listRows(stdout: string): Map<string, string[]> {
  const lines = stdout.trim().split('\n');
  assert.deepEqual(lines[0]?.split('\t'), ['id', 'name', 'prefix', 'state', 'scopes', 'tenant', 'ip', 'expires', 'last used'], 'the header row');
  return new Map(
    lines
      .slice(1)
      .map((line) => line.split('\t'))
      .map((cells) => [cells[0]!, cells]),
  );
}

// The local commands run on --dev's SQLite file (cleanEnv drops DATABASE_URL) in either run of the
// suite, so the file is registered in the SQLite run only (see STORE_UNDER_TEST): in the PostgreSQL
// run it repeated the very same checks on the very same store.
if (STORE_UNDER_TEST === 'sqlite')
  describe('the patchbay keys CLI', () => {
    let dataDir: string;
    let server: ChildProcess | undefined;
    let serverLog: string[];
    let origin: string;
    /** Every plain key the CLI printed, to search the other outputs and the server's logs for. */
    const printedKeys = new Set<string>();
    /** Every CLI output, and the one key it printed on purpose (create, roll), if any. */
    const outputs: Array<{ what: string; text: string; handedOut: string | null }> = [];

    async function cli(args: string[]): Promise<Run> {
      const run = await patchbayCli([...args, '--dev', '--data-dir', dataDir]);
      outputs.push({ what: args.join(' '), text: run.stdout + run.stderr, handedOut: null });
      return run;
    }

    /** The key a create or roll printed; only that run's output may hold it. */
    function keyPrintedBy(run: Run): string {
      const keys = run.stdout.match(KEY_PATTERN) ?? [];
      assert.equal(keys.length, 1, `exactly one key printed: ${run.stdout}`);
      const key = keys[0]!;
      printedKeys.add(key);
      const output = outputs.findLast((entry) => entry.text === run.stdout + run.stderr);
      assert.ok(output);
      output.handedOut = key;
      return key;
    }

    function idPrintedBy(run: Run, pattern: RegExp): string {
      const match = pattern.exec(run.stdout);
      assert.ok(match?.[1], `an id in: ${run.stdout}`);
      return match[1];
    }

    const whoami = async (key: string) => {
      const response = await fetch(`${origin}/v1/whoami`, { headers: { authorization: `Bearer ${key}` } });
      return {
        status: response.status,
        body: (await response.json()) as { keyId?: string; scopes?: string[]; tenantId?: string | null; error?: { code: string } },
      };
    };

    /**
     * The running server sees a change the CLI made in the store within its key cache window (half a
     * second here, see KEY_CACHE_SECONDS). Polled gently: each refused attempt also counts toward the
     * address's failure limit.
     */
    const eventually = (what: string, key: string, check: (answer: Awaited<ReturnType<typeof whoami>>) => boolean) =>
      waitFor(
        what,
        async () => {
          const answer = await whoami(key);
          return check(answer) ? answer : undefined;
        },
        15_000,
        200,
      );

    before(async () => {
      if (!existsSync(DIST_CLI) || newestSourceMtime(path.join(SERVER_DIR, 'src')) > statSync(DIST_CLI).mtimeMs) {
        const build = spawnSync('npm', ['run', 'build', '-w', '@patchbay/server'], { cwd: REPO_DIR, encoding: 'utf8' });
        if (build.status !== 0) process.stderr.write(`# npm run build exited ${build.status}: ${build.stdout}${build.stderr}\n`);
      }
      assert.ok(existsSync(DIST_CLI), 'the CLI is built (npm run build -w @patchbay/server)');

      dataDir = mkdtempSync(path.join(tmpdir(), 'patchbay-cli-'));
      serverLog = [];
      // The file polls the server from one address while the key cache catches up; keep those polls clear of the failure limit.
      // The cache window is the setting's, shortened: the file waits for it three times (inactivate,
      // reactivate, roll), and at the 2 s default those waits were most of those tests' time.
      const serverEnv = { ...cleanEnv(), PATCHBAY_AUTH_FAILURE_LIMIT: '1000', PATCHBAY_KEY_CACHE_SECONDS: String(KEY_CACHE_SECONDS) };
      server = spawn(process.execPath, [BIN, 'start', '--dev', '--data-dir', dataDir, '--port', '0'], { env: serverEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the server did not start:\n${serverLog.join('\n')}`)), 20_000);
        server!.once('exit', (code) => reject(new Error(`the server exited with ${code}:\n${serverLog.join('\n')}`)));
        createInterface({ input: server!.stderr! }).on('line', (line) => serverLog.push(line));
        createInterface({ input: server!.stdout! }).on('line', (line) => {
          serverLog.push(line);
          if (!line.startsWith('{')) return;
          const entry = JSON.parse(line) as { msg?: string; port?: number };
          if (entry.msg === 'patchbay is listening' && typeof entry.port === 'number') {
            clearTimeout(timer);
            resolve(entry.port);
          }
        });
      });
      origin = `http://127.0.0.1:${port}`;
    });

    after(async () => {
      if (server && server.exitCode === null) {
        server.kill('SIGTERM');
        await once(server, 'exit');
      }
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    });

    describe('keys create', () => {
      it('prints the key exactly once, well-formed, with every restriction stored', async () => {
        const run = await cli(['keys', 'create', '--name', 'CLI-Reader', '--scope', 'installs:read', '--tenant', 't', '--ip', '10.0.0.0/8']);
        assert.equal(run.code, 0, run.stderr);
        const key = keyPrintedBy(run);
        assert.match(key, /^pbk_[0-9A-Za-z]{28}$/);
        assert.match(run.stdout, /only time the key is shown/);
        const id = idPrintedBy(run, /Created access key (key_[0-9A-Za-z]+)/);

        const rows = listRows((await cli(['keys', 'list'])).stdout);
        const row = rows.get(id);
        assert.ok(row, 'listed');
        assert.deepEqual(
          [row[1], row[2], row[3], row[4], row[5], row[6], row[8]],
          ['CLI-Reader', `${key.slice(0, 10)}…`, 'active', 'installs:read', 't', '10.0.0.0/8', 'never'],
        );

        const refused = await whoami(key);
        assert.deepEqual([refused.status, refused.body.error?.code], [403, 'ip_restricted'], 'the running server applies the stored allowlist');
      });

      it('makes a key the running server accepts, with the scopes asked for', async () => {
        const run = await cli(['keys', 'create', '--name', 'CLI-Host', '--scope', 'installs:read', '--scope', 'sessions:write', '--ip', '127.0.0.0/8']);
        assert.equal(run.code, 0, run.stderr);
        const key = keyPrintedBy(run);
        const id = idPrintedBy(run, /Created access key (key_[0-9A-Za-z]+)/);
        const answer = await whoami(key);
        assert.equal(answer.status, 200);
        assert.deepEqual([answer.body.keyId, answer.body.scopes, answer.body.tenantId], [id, ['installs:read', 'sessions:write'], null]);
      });

      it('keys list never prints a key', async () => {
        const run = await cli(['keys', 'list']);
        assert.equal(run.code, 0, run.stderr);
        assert.ok(listRows(run.stdout).size >= 2);
        assert.deepEqual(run.stdout.match(KEY_PATTERN), null, 'no key-shaped string');
        for (const key of printedKeys) assert.ok(!run.stdout.includes(key.slice(10)), 'no secret part of a key');
      });
    });

    describe('inactivate, reactivate and roll', () => {
      let key: string;
      let id: string;

      before(async () => {
        const run = await cli(['keys', 'create', '--name', 'CLI-Lifecycle', '--scope', 'installs:read', '--tenant', 'life', '--ip', '127.0.0.1']);
        assert.equal(run.code, 0, run.stderr);
        key = keyPrintedBy(run);
        id = idPrintedBy(run, /Created access key (key_[0-9A-Za-z]+)/);
        assert.equal((await whoami(key)).status, 200);
      });

      it('keys inactivate <id> stops the key on the running server (within its cache window); keys reactivate brings it back', async () => {
        const inactivated = await cli(['keys', 'inactivate', id]);
        assert.equal(inactivated.code, 0, inactivated.stderr);
        assert.equal(inactivated.stdout.trim().split('\t')[3], 'inactive');
        assert.ok(listRows((await cli(['keys', 'list', '--inactive'])).stdout).has(id), 'listed among the inactive keys');
        const refused = await eventually('the inactivation to reach the server', key, (answer) => answer.status !== 200);
        assert.deepEqual([refused.status, refused.body.error?.code], [401, 'key_inactive']);

        const reactivated = await cli(['keys', 'reactivate', id]);
        assert.equal(reactivated.code, 0, reactivated.stderr);
        assert.equal(reactivated.stdout.trim().split('\t')[3], 'active');
        assert.ok(!listRows((await cli(['keys', 'list', '--inactive'])).stdout).has(id), 'no longer listed as inactive');
        await eventually('the reactivation to reach the server', key, (answer) => answer.status === 200);
      });

      it('keys roll <id> --grace 0 prints a new key once; the old key fails with key_expired, the new one works with the same restrictions', async () => {
        const run = await cli(['keys', 'roll', id, '--grace', '0']);
        assert.equal(run.code, 0, run.stderr);
        const newKey = keyPrintedBy(run);
        assert.notEqual(newKey, key);
        const newId = idPrintedBy(run, /New key (key_[0-9A-Za-z]+) \(CLI-Lifecycle-r2\)/);

        const rows = listRows((await cli(['keys', 'list'])).stdout);
        assert.equal(rows.get(id)?.[3], 'expired', 'the old key shows as expired');
        assert.deepEqual(rows.get(newId)?.slice(1, 7), ['CLI-Lifecycle-r2', `${newKey.slice(0, 10)}…`, 'active', 'installs:read', 'life', '127.0.0.1']);

        const refused = await eventually('the roll to reach the server', key, (answer) => answer.status !== 200);
        assert.deepEqual([refused.status, refused.body.error?.code], [401, 'key_expired']);
        const accepted = await whoami(newKey);
        assert.deepEqual([accepted.status, accepted.body.keyId, accepted.body.tenantId], [200, newId, 'life']);
      });

      it('records every change made by the CLI in the audit trail with the actor "cli"', async () => {
        const db = await openStore(`sqlite:${path.join(dataDir, 'patchbay.db')}`);
        try {
          const entries = await db.db.selectFrom('audit_entries').select(['action', 'actor']).where('target_id', '=', id).orderBy('id').execute();
          assert.deepEqual(
            entries.map((entry) => [entry.action, entry.actor]),
            [
              ['key.created', 'cli'],
              ['key.inactivated', 'cli'],
              ['key.reactivated', 'cli'],
              ['key.rolled', 'cli'],
            ],
          );
        } finally {
          await db.close();
        }
      });
    });

    describe('auth-events', () => {
      it('shows failed attempts filtered by reason, without the keys themselves', async () => {
        const unknown = 'pbk_' + 'A'.repeat(28);
        for (const bearer of ['not-a-key', unknown]) {
          const response = await fetch(`${origin}/v1/whoami`, { headers: { authorization: `Bearer ${bearer}` } });
          assert.equal(response.status, 401);
        }
        const run = await waitFor(
          'the server to write its auth events',
          async () => {
            const attempt = await cli(['auth-events', '--reason', 'invalid_credentials']);
            return attempt.stdout.trim().split('\n').length >= 3 ? attempt : undefined;
          },
          15_000,
          100,
        );
        assert.equal(run.code, 0, run.stderr);
        const [header, ...lines] = run.stdout.trim().split('\n');
        assert.deepEqual(header?.split('\t'), ['at', 'outcome', 'reason', 'key', 'ip', 'method', 'path']);
        assert.ok(lines.length >= 2, run.stdout);
        for (const line of lines) {
          const [at, outcome, reason, , ip, method, requestPath] = line.split('\t');
          assert.ok(!Number.isNaN(Date.parse(at ?? '')), `a time: ${line}`);
          assert.deepEqual([outcome, reason, ip, method, requestPath], ['failure', 'invalid_credentials', '127.0.0.1', 'GET', '/v1/whoami'], line);
        }
        assert.ok(!run.stdout.includes(unknown) && !run.stdout.includes('not-a-key'), 'the presented credentials are not shown');

        const expired = await cli(['auth-events', '--reason', 'key_expired']);
        assert.equal(expired.code, 0, expired.stderr);
        assert.ok(
          expired.stdout
            .trim()
            .split('\n')
            .slice(1)
            .every((line) => line.split('\t')[2] === 'key_expired'),
        );

        const bad = await cli(['auth-events', '--reason', 'made_up']);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /reason/);
      });
    });

    describe('bad input', () => {
      // Counted in the store itself, every row whatever its state: a spawn of `keys list` per count
      // cost a second each, and the CLI's listing is already checked above.
      let store: Store;
      before(async () => {
        store = await openStore(`sqlite:${path.join(dataDir, 'patchbay.db')}`);
      });
      after(async () => store?.close());
      const keyCount = async () => {
        const { rows } = await store.db
          .selectFrom('access_keys')
          .select((eb) => eb.fn.countAll<number>().as('rows'))
          .executeTakeFirstOrThrow();
        return Number(rows);
      };

      const cases: Array<[what: string, args: string[], mentions: RegExp]> = [
        ['a bad name', ['keys', 'create', '--name', 'bad/name', '--scope', 'installs:read'], /name/],
        ['a missing name', ['keys', 'create', '--scope', 'installs:read'], /name/],
        ['an unknown scope', ['keys', 'create', '--name', 'CLI-Bad-Scope', '--scope', 'root'], /scope/],
        ['a bad --ip', ['keys', 'create', '--name', 'CLI-Bad-Ip', '--ip', '10.0.0.0/33'], /ip|IP|CIDR/i],
        ['an --expires in the past', ['keys', 'create', '--name', 'CLI-Past', '--expires', '2001-01-01'], /expires|future/i],
        ['an --expires that is not a date', ['keys', 'create', '--name', 'CLI-Not-A-Date', '--expires', 'next-tuesday'], /expires|date/i],
        ['an unknown flag', ['keys', 'create', '--name', 'CLI-Unknown-Flag', '--scopes', 'installs:read'], /scopes/],
        ['a grace period beyond 7 days', ['keys', 'roll', 'key_whatever', '--grace', '604801'], /grace/i],
        ['a grace period that is not a number', ['keys', 'roll', 'key_whatever', '--grace', 'soon'], /grace/i],
        ['keys inactivate without an id', ['keys', 'inactivate'], /Usage/],
        ['a list limit that is not a number', ['keys', 'list', '--limit', 'many'], /limit/],
      ];

      for (const [what, args, mentions] of cases) {
        it(`exits 2 with a message for ${what}, and writes nothing`, async () => {
          const before = await keyCount();
          const run = await cli(args);
          assert.equal(run.code, 2, `exit code for ${what}: stdout=${run.stdout} stderr=${run.stderr}`);
          assert.match(run.stderr, mentions);
          assert.deepEqual(run.stdout.match(KEY_PATTERN), null, 'no key printed');
          assert.equal(await keyCount(), before, 'no key written');
        });
      }
    });

    describe('secrets', () => {
      it('no printed key appears in any later CLI output or in the server’s logs', async () => {
        assert.ok(printedKeys.size >= 4, `keys were printed (${printedKeys.size})`);
        if (server && server.exitCode === null) {
          server.kill('SIGTERM');
          await once(server, 'exit');
        }
        const leaks: string[] = [];
        const logText = serverLog.join('\n');
        for (const key of printedKeys) {
          for (const output of outputs) {
            if (output.handedOut !== key && output.text.includes(key.slice(10))) leaks.push(`${key.slice(0, 10)}… in the output of "${output.what}"`);
          }
          if (logText.includes(key.slice(10))) leaks.push(`${key.slice(0, 10)}… in the server's logs`);
        }
        if (JWT_PATTERN.test(logText)) leaks.push("a JWT in the server's logs");
        assert.ok(serverLog.length > 5, 'the server logged');
        assert.deepEqual(leaks, []);
      });
    });
  });

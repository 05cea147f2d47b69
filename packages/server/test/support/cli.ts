/**
 * One real server process (SQLite file or PostgreSQL) with the echo-sync declarations, for the
 * remote CLI tests: `cli(args)` runs `patchbay …` against it with an access key in the environment,
 * as an operator would, and remembers every output so a test can search them for secrets.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Scope } from '../../src/keys/service.js';
import { echoDeclarations } from './install-flow.js';
import { type Run, runCli, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess } from './processes.js';
import { startStandInApi, type StandInApi } from './stand-in-api.js';

export const EVERY_SCOPE: Scope[] = ['admin'];

export interface CliFixture {
  database: SharedDatabase;
  server: ServerProcess;
  standIn: StandInApi;
  /** An admin key (every scope), the one `cli` uses unless told otherwise, and its id (the audit's actor). */
  adminKey: string;
  adminKeyId: string;
  /** `patchbay <args>` with PATCHBAY_SERVER and PATCHBAY_API_KEY set (override with `env`); `input` is its stdin. */
  cli(args: string[], env?: Record<string, string>, input?: string): Promise<Run>;
  /** Every output so far, stdout and stderr. */
  outputs: string[];
  close(): Promise<void>;
}

export async function startCliFixture(kind: 'sqlite' | 'postgres'): Promise<CliFixture> {
  const database = sharedDatabase(kind);
  const standIn = await startStandInApi();
  const declarations = echoDeclarations(standIn) as unknown as { connectors: Array<{ actions: Record<string, unknown> }> };
  // An action that answers with the request's headers: `connectors test` must show them with the credential masked.
  declarations.connectors[0]!.actions.echo = { method: 'GET', path: '/echo', query: {} };
  // An action the upstream answers 404: `connectors test` exits 1 for it.
  declarations.connectors[0]!.actions.missing = { method: 'GET', path: '/not-found', query: {} };
  const configFile = path.join(database.dataDir, 'patchbay.config.json');
  writeFileSync(configFile, JSON.stringify(declarations));
  const server = await startServerProcess({ env: { ...database.env, PATCHBAY_CONFIG: configFile } });
  const { key: adminKey, id: adminKeyId } = await database.accessKey('cli-admin', EVERY_SCOPE);
  const outputs: string[] = [];
  return {
    database,
    server,
    standIn,
    adminKey,
    adminKeyId,
    outputs,
    async cli(args, env = {}, input) {
      const run = await runCli(args, { PATCHBAY_SERVER: server.origin, PATCHBAY_API_KEY: adminKey, ...env }, input);
      outputs.push(run.stdout + run.stderr);
      return run;
    },
    async close() {
      await server.stop();
      await standIn.close();
      await database.drop();
    },
  };
}

/** The rows of a CLI table: the header's cells, then each row's, split on runs of two or more spaces. */
export function tableOf(stdout: string): { header: string[]; rows: string[][] } {
  const [header = '', ...rows] = stdout.trimEnd().split('\n');
  const cells = (line: string) => line.trim().split(/ {2,}/);
  return { header: cells(header), rows: rows.map(cells) };
}

import { loadConfig } from '../config.js';
import { createPatchbay, listen } from '../runtime.js';
import type { Environment } from '../settings.js';
import { startHelp } from '../settings-help.js';
import { openStore, storeOptionsOf } from '../store/store.js';
import { out } from './output.js';

/** `patchbay start`: runs the server until a signal ends the process. */
export async function start(argv: string[], env: Environment): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out(startHelp());
    return 0;
  }
  const config = loadConfig(argv, env);
  const patchbay = await createPatchbay(config);
  const server = await listen(patchbay, config);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  patchbay.ctx.logger.info({ url: config.publicUrl, port, dev: config.dev }, 'patchbay is listening');
  if (config.dev && process.stdout.isTTY) out(`\n  Patchbay demo: ${config.publicUrl}/demo\n`);
  return await new Promise<number>(() => {});
}

export async function migrate(argv: string[], env: Environment): Promise<number> {
  const config = loadConfig(argv, env);
  const store = await openStore(config.databaseUrl, storeOptionsOf(config));
  const applied = await store.migrate();
  await store.close();
  out(applied.length ? `Applied: ${applied.join(', ')}` : 'The database is up to date.');
  return 0;
}

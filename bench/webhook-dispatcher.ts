/**
 * One "instance" for bench:webhooks: a webhook dispatcher on the shared database (settings from the
 * environment, as `patchbay start` reads them), idle until the parent sends `go`, until SIGTERM.
 */
import { loadConfig, createLogger, openStore } from '../packages/server/src/index.js';
import { Keyring } from '../packages/server/src/crypto/envelope.js';
import { storeOptionsOf } from '../packages/server/src/store/store.js';
import { WebhookDispatcher } from '../packages/server/src/webhooks/dispatcher.js';

const config = loadConfig([], process.env);
const store = await openStore(config.databaseUrl, storeOptionsOf(config));
const dispatcher = new WebhookDispatcher({ store, keyring: new Keyring(config.masterKeys!), config, logger: createLogger('warn') });
process.on('message', (message) => {
  if (message === 'go') dispatcher.start();
});
process.once('SIGTERM', () => {
  void dispatcher
    .close()
    .then(() => store.close())
    .then(() => process.exit(0));
});
process.send!({ ready: true });

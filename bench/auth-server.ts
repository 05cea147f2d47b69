/**
 * The server process for bench:auth: the real Patchbay app plus two identical routes, one open and
 * one behind the same `authenticate` middleware every keyed route uses, so the difference between
 * them is exactly the cost of key authentication (lookup, checks, auth event, last-used).
 */
import express from 'express';
import { loadConfig, createPatchbay, createLogger } from '../packages/server/dist/index.js';
import { authenticate } from '../packages/server/dist/http/auth.js';
import { createAccessKey } from '../packages/server/dist/keys/service.js';

const config = loadConfig([], process.env);
const patchbay = await createPatchbay(config, { logger: createLogger('warn') });
const { key } = await createAccessKey(patchbay.ctx, { name: 'bench', scopes: ['installs:read'] });

const app = express();
const answer: express.RequestHandler = (_req, res) => {
  res.json({ ok: true });
};
app.get('/bench/open', answer);
// The server's own CPU time, read between rounds: a per-request cost that other load on the
// machine does not distort the way it distorts requests per second.
app.get('/bench/cpu', (_req, res) => {
  const { user, system } = process.cpuUsage();
  res.json({ micros: user + system });
});
app.get('/bench/keyed', authenticate(patchbay.ctx, { scope: 'installs:read' }), answer);
app.use(patchbay.app);
const server = app.listen(config.port, '127.0.0.1', () => process.send?.({ key }));
process.on('SIGTERM', () => server.close(() => void patchbay.close().then(() => process.exit(0))));

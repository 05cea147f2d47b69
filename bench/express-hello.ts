/** bench:auth's floor for `/healthz`: a bare Express 5 app answering one small JSON route. */
import express from 'express';

const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ ok: true });
});
// PORT lets bench:start poll a port it chose, as it does for Patchbay.
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));

/** bench:proxy's third-party API: answers every request with a small JSON body, on loopback. */
import { createServer } from 'node:http';

const body = JSON.stringify({ id: 'me_1', name: 'Bench User', plan: 'pro' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));

/**
 * bench:proxy's floor: a bare node:http forward proxy that injects the credential header and
 * streams the answer back, over kept-alive connections to the same upstream. What the machine can
 * do with nothing but forwarding; Patchbay's proxy is measured against it.
 */
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(process.env.BENCH_UPSTREAM!);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const server = createServer((req, res) => {
  const upstreamReq = request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url!.replace(/^\/proxy/, ''),
      headers: { accept: req.headers.accept ?? '*/*', authorization: 'Bearer floor-secret' },
      agent,
    },
    (upstreamRes) => {
      res.writeHead(upstreamRes.statusCode!, { 'content-type': upstreamRes.headers['content-type'] ?? 'application/octet-stream' });
      upstreamRes.pipe(res);
    },
  );
  upstreamReq.on('error', () => res.writeHead(502).end());
  req.pipe(upstreamReq);
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as { port: number }).port }));
process.on('SIGTERM', () => process.exit(0));

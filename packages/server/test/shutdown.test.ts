import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { STORE_LABEL, STORE_UNDER_TEST, type ServerProcess, sharedDatabase, type SharedDatabase, startServerProcess } from './support/processes.js';

const HOST_ORIGIN = 'https://app.example.com';
const INTEGRATION = '/v1/integrations/slow-sync';

/** A stand-in API whose /slow/wait answers only when the test releases it. */
async function startHeldApi() {
  let arrived!: () => void;
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const server: Server = createServer((req, res) => {
    arrived();
    void released.then(() => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ finished: true, path: req.url }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { origin, arrival, release, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function cleanShutdown(kind: 'sqlite' | 'postgres') {
  let database: SharedDatabase | undefined;
  let server: ServerProcess | undefined;
  let api: Awaited<ReturnType<typeof startHeldApi>> | undefined;
  after(async () => {
    api?.release();
    await server?.stop();
    await api?.close();
    await database?.drop();
  });

  it('on SIGTERM the server stops accepting connections, finishes the request in flight, closes the store and exits 0', async () => {
    api = await startHeldApi();
    database = sharedDatabase(kind);
    const configFile = path.join(database.dataDir, 'patchbay.config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        connectors: [
          {
            slug: 'slow',
            name: 'Slow',
            description: 'Answers when released',
            baseUrl: `${api.origin}/slow`,
            visibility: 'shared',
            authMethods: [{ type: 'none' }],
            actions: {},
          },
        ],
        integrations: [
          { id: 'slow-sync', name: 'Slow sync', description: '', connectors: ['slow'], allowedOrigins: [HOST_ORIGIN], configFields: [], actions: {} },
        ],
      }),
    );
    server = await startServerProcess({ env: { ...database.env, PATCHBAY_CONFIG: configFile, PATCHBAY_LOG_LEVEL: 'info' } });
    const { key } = await database.accessKey('host-backend', ['sessions:write', 'installs:read', 'installs:write']);
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const origin = server.origin;

    // A connection to proxy through: one session authorized by the (empty) credentials form.
    const { id } = (await (
      await fetch(`${origin}${INTEGRATION}/session`, { method: 'POST', headers, body: JSON.stringify({ tenantId: 'slow-tenant', connector: 'slow' }) })
    ).json()) as { id: string };
    await (await fetch(`${origin}${INTEGRATION}/session/${id}/start?mode=popup&origin=${encodeURIComponent(HOST_ORIGIN)}`)).text();
    assert.equal(
      (
        await fetch(`${origin}${INTEGRATION}/session/${id}/credentials`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: '',
        })
      ).status,
      200,
    );
    const { data } = (await (await fetch(`${origin}/v1/connections?tenantId=slow-tenant`, { headers })).json()) as { data: Array<{ id: string }> };
    assert.equal(data.length, 1);

    let inFlightDone = false;
    const inFlight = fetch(`${origin}/v1/connections/${data[0]!.id}/proxy/wait`, { headers }).then(async (answer) => {
      const result = { status: answer.status, connection: answer.headers.get('connection'), body: await answer.text() };
      inFlightDone = true;
      return result;
    });
    await api.arrival;
    server.child.kill('SIGTERM');

    // New connections are refused while the request is still in flight (a plain TCP connect, so
    // no pooled keep-alive connection stands in for a new one). A connect that lands in the
    // listen backlog just as the listener closes is reset (ECONNRESET) rather than refused; that
    // is the closing moment itself, so the loop tries again until the port refuses outright.
    let refused: string | null = null;
    for (let attempt = 0; attempt < 200 && !refused; attempt++) {
      refused = await new Promise<string | null>((resolve) => {
        const socket = connect(server!.port, '127.0.0.1');
        socket.once('connect', () => {
          socket.destroy();
          setTimeout(() => resolve(null), 25);
        });
        socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNRESET' ? null : (error.code ?? 'error')));
      });
    }
    assert.equal(refused, 'ECONNREFUSED', 'the server stopped accepting new connections after SIGTERM');
    assert.equal(inFlightDone, false, 'the held request was still in flight');
    assert.equal(server.child.exitCode, null, 'the process waits for the request in flight');

    api.release();
    const answer = await inFlight;
    assert.equal(answer.status, 200, `the request in flight finished: ${answer.body}`);
    assert.deepEqual(JSON.parse(answer.body), { finished: true, path: '/slow/wait' });
    assert.equal(answer.connection, 'close', 'the answer closes its keep-alive connection, so it cannot hold the server open');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 0, signal: null }, `the process exits 0:\n${server.output()}`);
    const log = server.output();
    assert.ok(
      log.indexOf('"shutting down"') >= 0 && log.indexOf('"shutting down"') < log.indexOf('"stopped"'),
      `the log says it shut down, then stopped after closing the store:\n${log}`,
    );
  });
}

describe(`clean shutdown on SIGTERM (${STORE_LABEL})`, () => {
  cleanShutdown(STORE_UNDER_TEST);
});

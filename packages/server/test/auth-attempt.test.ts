import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import type { CredentialStrategy } from '../src/auth/strategy.js';
import type { AppContext } from '../src/context.js';
import { authenticate, recordAuthSuccessNow, refuse } from '../src/http/auth.js';
import { errorHandler } from '../src/http/errors.js';
import type { AuthEventInput } from '../src/keys/auth-events.js';
import { createLogger } from '../src/logger.js';

/**
 * One auth event per attempt, whenever the route answers: a success recorded at once when the route
 * answered in the same tick (no `close` listener then), at the answer's close when it answers later
 * or streams, and never on top of a refusal decided inside the route, in the same tick or later.
 */
describe('the auth event of an admitted request, however its route answers', () => {
  const events: AuthEventInput[] = [];
  const key: CredentialStrategy = {
    kind: 'key',
    recognizes: () => true,
    verify: ({ credential }) =>
      credential === 'good'
        ? {
            ok: true,
            keyId: 'key_1',
            keyPrefix: 'pbk_good',
            principal: { kind: 'partner', partnerId: 'p', keyId: 'key_1', keyPrefix: 'pbk_good', environment: 'prod', grants: [] },
          }
        : { ok: false, reason: 'invalid_credentials', keyId: null, keyPrefix: null },
  };
  const deps = {
    config: { trustProxy: false },
    failures: { retryAfter: () => null, recordFailure: async () => ({ over: false, retryAfterSeconds: 1 }) },
    authEvents: { record: (event: AuthEventInput) => events.push(event) },
    strategies: [key],
  } as unknown as Pick<AppContext, 'config' | 'failures' | 'authEvents' | 'strategies'>;
  const app = express();
  const auth = authenticate(deps);
  app.get('/same-tick', auth, (_req, res) => {
    res.json({ ok: true });
  });
  app.get('/refused-same-tick', auth, (req, res) => {
    throw refuse(null, req, res, 'tenant_forbidden');
  });
  app.get('/throws-same-tick', auth, () => {
    throw new Error('route failed after authentication');
  });
  app.get('/later', auth, (_req, res) => {
    setTimeout(() => res.json({ ok: true }), 20);
  });
  app.get('/refused-later', auth, async (req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    throw refuse(null, req, res, 'insufficient_scope');
  });
  app.get('/stream', auth, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    recordAuthSuccessNow(res);
    res.write('data: first\n\n');
    setTimeout(() => res.end(), 20);
  });
  app.use(errorHandler(createLogger('silent')));
  let server: Server;
  let origin: string;

  before(async () => {
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  /** The events one request recorded, once its answer is read and closed. */
  async function eventsOf(path: string, credential = 'good'): Promise<{ status: number; events: AuthEventInput[] }> {
    const from = events.length;
    const answer = await fetch(origin + path, { headers: { authorization: `Bearer ${credential}` } });
    await answer.text();
    await new Promise((resolve) => setTimeout(resolve, 20));
    return { status: answer.status, events: events.slice(from) };
  }

  const outcome = ({ outcome, reason, keyId, path }: AuthEventInput) => ({ outcome, reason, keyId, path });

  it('records one success for a route that answered in the same tick', async () => {
    const { status, events } = await eventsOf('/same-tick');
    assert.equal(status, 200);
    assert.deepEqual(events.map(outcome), [{ outcome: 'success', reason: null, keyId: 'key_1', path: '/same-tick' }]);
  });

  it('records only the refusal of a route that refused in the same tick', async () => {
    const { status, events } = await eventsOf('/refused-same-tick');
    assert.equal(status, 403);
    assert.deepEqual(events.map(outcome), [{ outcome: 'failure', reason: 'tenant_forbidden', keyId: 'key_1', path: '/refused-same-tick' }]);
  });

  it('records one success when the route fails after authentication passed (the answer is a 500, not a refusal)', async () => {
    const { status, events } = await eventsOf('/throws-same-tick');
    assert.equal(status, 500);
    assert.deepEqual(events.map(outcome), [{ outcome: 'success', reason: null, keyId: 'key_1', path: '/throws-same-tick' }]);
  });

  it('records one success for a route that answers after an await, and only the refusal of one that refuses after it', async () => {
    const later = await eventsOf('/later');
    assert.deepEqual(later.events.map(outcome), [{ outcome: 'success', reason: null, keyId: 'key_1', path: '/later' }]);
    const refused = await eventsOf('/refused-later');
    assert.equal(refused.status, 403);
    assert.deepEqual(refused.events.map(outcome), [{ outcome: 'failure', reason: 'insufficient_scope', keyId: 'key_1', path: '/refused-later' }]);
  });

  it('records one success for a stream, when the route says so', async () => {
    const { events } = await eventsOf('/stream');
    assert.deepEqual(events.map(outcome), [{ outcome: 'success', reason: null, keyId: 'key_1', path: '/stream' }]);
  });

  it('records one failure for an unknown credential', async () => {
    const { status, events } = await eventsOf('/same-tick', 'bad');
    assert.equal(status, 401);
    assert.deepEqual(events.map(outcome), [{ outcome: 'failure', reason: 'invalid_credentials', keyId: null, path: '/same-tick' }]);
  });
});

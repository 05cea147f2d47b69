import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { isAddressAllowed } from '../src/keys/ip.js';
import { closeServer, type TestPatchbay } from './support/harness.js';
import { type Api, assertError, assertNoLeaks, assertOneEvent, createKeyOverHttp, SecretWatch, withEvents } from './support/keys.js';

/** Every key, hash, answer and log line of this file, searched for secrets at the end. */
const watch = new SecretWatch();

/** A second listener for the same app on `::`, so clients reach it as IPv6 (`::1`) or IPv4-mapped IPv6. */
async function listenDualStack(patchbay: TestPatchbay): Promise<{ server: Server; port: number }> {
  const server = createHttpServer(patchbay.patchbay.app);
  server.listen(0, '::');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Access keys over HTTP: IP allowlists (IPv4, IPv6, IPv4-mapped, trusted proxies).
 */
describe('access keys over HTTP: IP allowlists', () => {
  describe('IP allowlists', () => {
    describe('isAddressAllowed', () => {
      const table: Array<[client: string | null | undefined, ranges: string[], allowed: boolean, why: string]> = [
        ['10.1.2.3', ['10.0.0.0/8'], true, 'IPv4 inside a CIDR range'],
        ['11.0.0.1', ['10.0.0.0/8'], false, 'IPv4 outside a CIDR range'],
        ['192.168.1.77', ['192.168.1.0/25'], true, 'inside a /25'],
        ['192.168.1.200', ['192.168.1.0/25'], false, 'just past a /25'],
        ['203.0.113.7', ['203.0.113.7'], true, 'a single IPv4 address'],
        ['203.0.113.8', ['203.0.113.7'], false, 'the neighbour of a single address'],
        ['203.0.113.7', ['203.0.113.7/32'], true, 'a /32'],
        ['2001:db8::1', ['2001:db8::/32'], true, 'IPv6 inside a CIDR range'],
        ['2001:db9::1', ['2001:db8::/32'], false, 'IPv6 outside a CIDR range'],
        ['2001:DB8:0:0::ABCD', ['2001:db8::/32'], true, 'IPv6 written in capitals and long form'],
        ['::1', ['::1'], true, 'a single IPv6 address'],
        ['::1', ['::1/128'], true, 'a /128'],
        ['::1', ['127.0.0.0/8'], false, 'IPv6 loopback is not IPv4 loopback'],
        ['127.0.0.1', ['::1'], false, 'IPv4 loopback is not IPv6 loopback'],
        ['::ffff:127.0.0.1', ['127.0.0.0/8'], true, 'an IPv4-mapped client counts as IPv4'],
        ['::ffff:10.0.0.1', ['127.0.0.0/8'], false, 'an IPv4-mapped client outside the range'],
        ['127.0.0.1', ['::ffff:127.0.0.0/104'], true, 'an IPv4-mapped range counts as IPv4'],
        ['127.0.0.1', ['::ffff:127.0.0.1'], true, 'an IPv4-mapped single address'],
        ['::ffff:127.0.0.1', ['::ffff:127.0.0.1'], true, 'mapped client, mapped address'],
        ['10.0.0.1', ['2001:db8::/32', '10.0.0.0/8'], true, 'any one range is enough'],
        ['10.0.0.1', ['not-a-range', '10.0.0.0/8'], true, 'a broken entry does not break the others'],
        ['10.0.0.1', ['not-a-range'], false, 'a broken entry allows nothing'],
        ['10.0.0.1', [], false, 'an empty list allows nothing'],
        [null, ['0.0.0.0/0'], false, 'no client address'],
        [undefined, ['0.0.0.0/0'], false, 'an undefined client address'],
        ['', ['0.0.0.0/0'], false, 'an empty client address'],
        ['not-an-ip', ['0.0.0.0/0'], false, 'a client address that is not one'],
        ['8.8.8.8', ['0.0.0.0/0'], true, 'all of IPv4'],
        ['2001:db8::1', ['::/0'], true, 'all of IPv6'],
      ];
      for (const [client, ranges, allowed, why] of table) {
        it(`${allowed ? 'allows' : 'refuses'} ${String(client)} for [${ranges.join(', ')}]: ${why}`, () => {
          assert.equal(isAddressAllowed(client, ranges), allowed);
        });
      }
    });

    describe('without a trusted proxy the socket address decides', () => {
      let patchbay: TestPatchbay;
      let api: Api;
      let admin: string;
      let dual: { server: Server; port: number };

      before(async () => {
        ({ patchbay, api, admin } = await watch.startServer('the direct server', 'direct-admin'));
        assert.equal(patchbay.config.trustProxy, false);
        dual = await listenDualStack(patchbay);
      });

      after(async () => {
        await closeServer(dual.server);
        await watch.closeServer(patchbay);
      });

      const keyWith = async (name: string, ipAllowlist: string[]) =>
        (await createKeyOverHttp(api, admin, { name, scopes: ['installs:read'], ipAllowlist }, watch)).key;

      it('allows an IPv4 client inside an IPv4 CIDR range and refuses one outside', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('v4-inside', ['127.0.0.0/8']) })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('v4-outside', ['10.0.0.0/8', '192.168.0.0/16']) }), 403, 'ip_restricted');
      });

      it('allows exactly a single listed address', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('single-match', ['127.0.0.1']) })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('single-other', ['127.0.0.2']) }), 403, 'ip_restricted');
      });

      it('treats an IPv4-mapped IPv6 client (::ffff:127.0.0.1 on a dual-stack socket) as its IPv4 address', async () => {
        const origin = `http://127.0.0.1:${dual.port}`;
        const key = await keyWith('mapped-v4-range', ['127.0.0.0/8']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, origin }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '::ffff:127.0.0.1' }, 'the socket reported the mapped form');
        assert.equal(
          (await api('/v1/whoami', { auth: await keyWith('mapped-range', ['::ffff:127.0.0.0/104']), origin })).status,
          200,
          'a mapped range matches too',
        );
        assertError(await api('/v1/whoami', { auth: await keyWith('mapped-outside', ['::ffff:10.0.0.0/104', '10.0.0.0/8']), origin }), 403, 'ip_restricted');
      });

      it('matches an IPv6 client (::1) against IPv6 CIDR ranges', async () => {
        const origin = `http://[::1]:${dual.port}`;
        const inside = await keyWith('v6-inside', ['::1/128']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: inside, origin }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '::1' });
        assert.equal((await api('/v1/whoami', { auth: await keyWith('v6-wide', ['::/64']), origin })).status, 200);
        const outside = await keyWith('v6-outside', ['2001:db8::/32', '127.0.0.0/8']);
        const refused = await withEvents(patchbay, () => api('/v1/whoami', { auth: outside, origin }));
        assertError(refused.response, 403, 'ip_restricted');
        assertOneEvent(refused.events, { reason: 'ip_restricted', client_ip: '::1' });
      });

      it('ignores X-Forwarded-For: a client cannot claim an allowed address', async () => {
        const fenced = await keyWith('xff-ignored', ['10.0.0.0/8']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: fenced, headers: { 'x-forwarded-for': '10.1.2.3' } }));
        assertError(response, 403, 'ip_restricted');
        assertOneEvent(events, { reason: 'ip_restricted', client_ip: '127.0.0.1' });
        const local = await keyWith('xff-ignored-local', ['127.0.0.0/8']);
        assert.equal((await api('/v1/whoami', { auth: local, headers: { 'x-forwarded-for': '10.1.2.3' } })).status, 200, 'nor lose its real one');
      });

      it('refuses an allowlist entry in shorthand notation ("10/8") instead of storing a range that means something else', async () => {
        const response = await api('/v1/keys', {
          method: 'POST',
          auth: admin,
          body: { name: 'shorthand-range', scopes: ['installs:read'], ipAllowlist: ['10/8'] },
        });
        assertError(response, 400, 'invalid_request');
      });
    });

    describe('behind a trusted proxy the forwarded address decides', () => {
      let patchbay: TestPatchbay;
      let api: Api;
      let admin: string;

      before(async () => {
        ({ patchbay, api, admin } = await watch.startServer('the proxied server', 'proxied-admin', { config: { trustProxy: 'loopback' } }));
      });

      after(() => watch.closeServer(patchbay));

      const keyWith = async (name: string, ipAllowlist: string[]) =>
        (await createKeyOverHttp(api, admin, { name, scopes: ['installs:read'], ipAllowlist }, watch)).key;
      const via = (forwardedFor: string) => ({ 'x-forwarded-for': forwardedFor });

      it('uses the forwarded IPv4 address, not the proxy’s own', async () => {
        const key = await keyWith('proxied-v4', ['203.0.113.0/24']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, headers: via('203.0.113.7') }));
        assert.equal(response.status, 200, response.text);
        assertOneEvent(events, { outcome: 'success', client_ip: '203.0.113.7' });
        assertError(
          await api('/v1/whoami', { auth: await keyWith('proxied-loopback-only', ['127.0.0.0/8']), headers: via('203.0.113.7') }),
          403,
          'ip_restricted',
        );
      });

      it('matches a forwarded IPv6 address against IPv6 ranges', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-v6', ['2001:db8::/32']), headers: via('2001:db8::5') })).status, 200);
        assertError(await api('/v1/whoami', { auth: await keyWith('proxied-v6-out', ['2001:db9::/32']), headers: via('2001:db8::5') }), 403, 'ip_restricted');
      });

      it('treats a forwarded IPv4-mapped address as IPv4', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-mapped', ['10.0.0.0/8']), headers: via('::ffff:10.1.2.3') })).status, 200);
      });

      it('ignores addresses the client wrote before the last untrusted hop', async () => {
        const key = await keyWith('proxied-spoof', ['203.0.113.0/24']);
        const { response, events } = await withEvents(patchbay, () => api('/v1/whoami', { auth: key, headers: via('203.0.113.7, 198.51.100.1') }));
        assertError(response, 403, 'ip_restricted');
        assertOneEvent(events, { reason: 'ip_restricted', client_ip: '198.51.100.1' }, 'the address the trusted proxy saw');
      });

      it('uses the socket address when no proxy header is sent', async () => {
        assert.equal((await api('/v1/whoami', { auth: await keyWith('proxied-none', ['127.0.0.1']) })).status, 200);
      });
    });
  });

  describe('secrets', () => {
    it('no plain key, stored hash, session token or JWT appears in any log line or in any answer after creation', () => {
      assertNoLeaks(watch, { secrets: 40, answers: 30, logLines: 30 });
    });
  });
});

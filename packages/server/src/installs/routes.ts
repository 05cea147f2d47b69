import { auditActorOf } from '../audit/actor.js';
import { Router } from 'express';
import { z } from 'zod';
import type { AppContext } from '../context.js';
import { assertTenantAllowed, authenticate, principalOf, refuse } from '../http/auth.js';
import { parseInput } from '../http/validation.js';
import { deleteInstall, getInstall, searchInstalls } from './service.js';

export const listQuerySchema = z.object({
  tag: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]))
    .pipe(z.array(z.string().regex(/^[^=]{1,128}=.{0,512}$/, 'a tag filter looks like key=value')).max(8)),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z
    .string()
    .regex(/^ins_[0-9A-Za-z]{22}$/)
    .optional(),
});

export function installRoutes(ctx: AppContext): Router {
  const router = Router({ mergeParams: true });

  router.get('/install', authenticate(ctx, { scope: 'installs:read' }), async function searchInstallsHandler(req, res) {
    const query = parseInput(listQuerySchema, req.query);
    const tags = query.tag.map((filter): [string, string] => {
      const equals = filter.indexOf('=');
      return [filter.slice(0, equals), filter.slice(equals + 1)];
    });
    const principal = principalOf(res);
    // A key restricted to one tenant only ever sees that tenant's installs.
    if (principal.kind === 'key' && principal.key.tenantId) tags.push(['fusebit.tenantId', principal.key.tenantId]);
    res.json(await searchInstalls(ctx, String(req.params.integrationId), { tags, limit: query.limit, cursor: query.cursor }));
  });

  router.get('/install/:installId', authenticate(ctx, { scope: 'installs:read', sessionToken: true }), async function readInstallHandler(req, res) {
    const install = await getInstall(ctx, String(req.params.integrationId), String(req.params.installId));
    const principal = principalOf(res);
    if (principal.kind === 'session' && principal.installId !== install.id)
      throw refuse(ctx, req, res, 'session_forbidden', 'This session token belongs to another install.');
    assertTenantAllowed(ctx, req, res, install.tenantId);
    res.json(install);
  });

  router.delete('/install/:installId', authenticate(ctx, { scope: 'installs:write' }), async function deleteInstallHandler(req, res) {
    const integrationId = String(req.params.integrationId);
    const install = await getInstall(ctx, integrationId, String(req.params.installId));
    assertTenantAllowed(ctx, req, res, install.tenantId);
    await deleteInstall(ctx, integrationId, install, auditActorOf(res));
    res.status(204).end();
  });

  return router;
}

import { Router } from 'express';
import type { AppContext } from '../context.js';
import { authenticate } from '../http/auth.js';
import { parseInput } from '../http/validation.js';
import { listAuditSchema } from './schema.js';
import { listAudit } from './service.js';

/** The audit trail, for operators (admin keys): every change, newest first, filtered and paged. */
export function auditRoutes(ctx: AppContext): Router {
  const router = Router();
  router.get('/', authenticate(ctx, { scope: 'admin' }), async function listAuditHandler(req, res) {
    res.json(await listAudit(ctx.store.db, parseInput(listAuditSchema, req.query)));
  });
  return router;
}

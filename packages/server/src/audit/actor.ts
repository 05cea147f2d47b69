import type { Response } from 'express';
import { principalOf } from '../http/auth.js';
import { type AuditActor, tenantActor } from './service.js';

/**
 * Who did it, for the audit trail: the acting key's id, the session's tenant (with the session it
 * acted through, kept in `via`), or the partner. Routes hand it to the services that write entries.
 */
export function auditActorOf(res: Response): AuditActor {
  const principal = principalOf(res);
  if (principal.kind === 'key') return { actor: principal.key.id };
  return principal.kind === 'session' ? tenantActor(principal.tenantId, principal.sessionId) : { actor: `partner:${principal.partnerId}` };
}

/** `auditActorOf` without the session: the actor alone, for services that take a plain string. */
export function actorOf(res: Response): string {
  return auditActorOf(res).actor;
}

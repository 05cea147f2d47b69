/** Topic grants: what the workspace lets a partner publish and consume, per environment. */
import type { AppContext } from '../context.js';
import { writeAudit } from '../audit/service.js';
import { newId } from '../crypto/random.js';
import { notFound } from '../http/errors.js';
import type { TopicGrantsTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import { type GrantView, toGrantView } from './views.js';
import { requirePartner } from './lookup.js';

/** Re-exported: the grants' readers import it from here. */
export { grantsOf } from './key-check.js';

export async function grantTopic(
  deps: Pick<AppContext, 'store' | 'partnerKeys'>,
  partnerId: string,
  grant: { pattern: string; environment: string; send: boolean; receive: boolean },
  actor: string,
): Promise<GrantView> {
  await requirePartner(deps, partnerId);
  const granted = await deps.store.db.transaction().execute(async (trx) => {
    const existing = await trx
      .selectFrom('topic_grants')
      .select('id')
      .where('partner_id', '=', partnerId)
      .where('pattern', '=', grant.pattern)
      .where('environment', '=', grant.environment)
      .executeTakeFirst();
    const row: TopicGrantsTable = {
      id: existing?.id ?? newId('tgr'),
      partner_id: partnerId,
      pattern: grant.pattern,
      environment: grant.environment,
      can_send: grant.send ? 1 : 0,
      can_receive: grant.receive ? 1 : 0,
      created_at: isoNow(),
    };
    if (existing) await trx.updateTable('topic_grants').set({ can_send: row.can_send, can_receive: row.can_receive }).where('id', '=', existing.id).execute();
    else await trx.insertInto('topic_grants').values(row).execute();
    await writeAudit(trx, {
      actor,
      action: 'partner.topic_granted',
      targetType: 'partner',
      targetId: partnerId,
      details: { pattern: grant.pattern, environment: grant.environment, send: grant.send, receive: grant.receive },
    });
    return toGrantView(row);
  });
  // Admitted partner keys carry their grants (partners/verifier.ts).
  deps.partnerKeys.forget();
  return granted;
}

export async function revokeGrant(deps: Pick<AppContext, 'store' | 'partnerKeys'>, partnerId: string, grantId: string, actor: string): Promise<void> {
  await deps.store.db.transaction().execute(async (trx) => {
    const grant = await trx.selectFrom('topic_grants').selectAll().where('id', '=', grantId).where('partner_id', '=', partnerId).executeTakeFirst();
    if (!grant) throw notFound('grant_not_found', 'No such grant for this partner.');
    await trx.deleteFrom('topic_grants').where('id', '=', grantId).execute();
    await writeAudit(trx, {
      actor,
      action: 'partner.topic_revoked',
      targetType: 'partner',
      targetId: partnerId,
      details: { pattern: grant.pattern, environment: grant.environment },
    });
  });
  deps.partnerKeys.forget();
}

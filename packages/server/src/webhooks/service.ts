import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { type AuditActor, writeAudit } from '../audit/service.js';
import type { AppContext } from '../context.js';
import { newId } from '../crypto/random.js';
import { badRequest, conflict, notFound } from '../http/errors.js';
import type { Database, WebhookDeliveriesTable, WebhookEndpointsTable } from '../store/schema.js';
import { isoNow } from '../store/time.js';
import type { WebhookEventType } from './emit.js';
import type { DeliveryView, WebhookView } from './schema.js';
import { refusedTargetReason, type TargetPolicy } from './target.js';
import { pageOf } from '../store/page.js';

type Deps = Pick<AppContext, 'store' | 'keyring' | 'config'>;

/** Binds a secret's ciphertext to its endpoint: copied onto another endpoint's row, it does not decrypt. */
export const secretAad = (endpointId: string) => `webhook_endpoint:${endpointId}`;

/** Standard Webhooks' secret form: `whsec_` and the base64 of the key (32 random bytes, the spec asks for 24 to 64). */
function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function targetPolicyOf(config: AppContext['config']): TargetPolicy {
  return { dev: config.dev, allowedHosts: config.webhookAllowedHosts };
}

export function toWebhookView(row: WebhookEndpointsTable, now = Date.now()): WebhookView {
  const graceOver = row.previous_secret_until === null || Date.parse(row.previous_secret_until) <= now;
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: JSON.parse(row.events) as WebhookEventType[],
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason as WebhookView['disabledReason'],
    previousSecretUntil: graceOver ? null : row.previous_secret_until,
    failingSince: row.failing_since,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** What the audit trail records of an endpoint: never a secret. */
function auditView(row: WebhookEndpointsTable) {
  return { url: row.url, description: row.description, events: JSON.parse(row.events) as string[], enabled: row.enabled === 1 };
}

async function assertSafeTarget(deps: Pick<AppContext, 'config'>, url: string): Promise<void> {
  const reason = await refusedTargetReason(url, targetPolicyOf(deps.config));
  if (reason) throw badRequest('unsafe_webhook_url', `url: webhooks cannot be sent there: ${reason}.`);
}

async function requireEndpoint(db: Kysely<Database>, id: string): Promise<WebhookEndpointsTable> {
  const row = await db.selectFrom('webhook_endpoints').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw notFound('webhook_not_found', 'No such webhook endpoint.');
  return row;
}

export async function createWebhook(
  deps: Deps,
  input: { url: string; events: WebhookEventType[]; description: string },
  by: AuditActor,
): Promise<WebhookView & { secret: string }> {
  await assertSafeTarget(deps, input.url);
  const id = newId('whe');
  const secret = newSecret();
  const now = isoNow();
  const row: WebhookEndpointsTable = {
    id,
    url: input.url,
    description: input.description,
    events: JSON.stringify(input.events),
    enabled: 1,
    disabled_reason: null,
    secret_ciphertext: deps.keyring.encrypt(secret, secretAad(id)),
    previous_secret_ciphertext: null,
    previous_secret_until: null,
    failing_since: null,
    created_at: now,
    updated_at: now,
  };
  await deps.store.db.transaction().execute(async (trx) => {
    await trx.insertInto('webhook_endpoints').values(row).execute();
    await writeAudit(trx, { ...by, action: 'webhook.created', targetType: 'webhook', targetId: id, details: auditView(row) });
  });
  return { ...toWebhookView(row), secret };
}

export async function getWebhook(deps: Pick<AppContext, 'store'>, id: string): Promise<WebhookView> {
  return toWebhookView(await requireEndpoint(deps.store.db, id));
}

export async function listWebhooks(deps: Pick<AppContext, 'store'>, query: { limit: number; cursor?: string | undefined }) {
  let select = deps.store.db.selectFrom('webhook_endpoints').selectAll();
  if (query.cursor) select = select.where('id', '>', query.cursor);
  const rows = await select
    .orderBy('id')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, toWebhookView);
}

export async function updateWebhook(
  deps: Deps,
  id: string,
  patch: { url?: string | undefined; events?: WebhookEventType[] | undefined; description?: string | undefined; enabled?: boolean | undefined },
  by: AuditActor,
): Promise<WebhookView> {
  if (patch.url !== undefined) await assertSafeTarget(deps, patch.url);
  return deps.store.db.transaction().execute(async (trx) => {
    const before = await requireEndpoint(trx, id);
    const enabling = patch.enabled === true && before.enabled === 0;
    const after = await trx
      .updateTable('webhook_endpoints')
      .set({
        ...(patch.url === undefined ? {} : { url: patch.url }),
        ...(patch.events === undefined ? {} : { events: JSON.stringify(patch.events) }),
        ...(patch.description === undefined ? {} : { description: patch.description }),
        ...(patch.enabled === undefined ? {} : { enabled: patch.enabled ? 1 : 0, disabled_reason: patch.enabled ? null : 'operator' }),
        // Enabled again: its run of failures starts afresh, or it would be disabled at its next failure.
        ...(enabling ? { failing_since: null } : {}),
        updated_at: isoNow(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    const changes = Object.fromEntries(
      Object.entries(auditView(after))
        .filter(([field, value]) => JSON.stringify(value) !== JSON.stringify(auditView(before)[field as keyof ReturnType<typeof auditView>]))
        .map(([field, value]) => [field, { before: auditView(before)[field as keyof ReturnType<typeof auditView>], after: value }]),
    );
    await writeAudit(trx, { ...by, action: 'webhook.updated', targetType: 'webhook', targetId: id, details: { changes } });
    return toWebhookView(after);
  });
}

/**
 * A new secret, shown once. The old one keeps signing beside it for the grace window (the
 * `webhook-signature` header then carries both), so receivers can switch without missing a
 * delivery. Rotating again within the grace drops the oldest: only the last two ever sign.
 */
export async function rotateWebhookSecret(deps: Deps, id: string, by: AuditActor): Promise<WebhookView & { secret: string }> {
  const secret = newSecret();
  const graceMs = deps.config.webhookSecretGraceHours * 3_600_000;
  const row = await deps.store.db.transaction().execute(async (trx) => {
    const before = await requireEndpoint(trx, id);
    const after = await trx
      .updateTable('webhook_endpoints')
      .set({
        secret_ciphertext: deps.keyring.encrypt(secret, secretAad(id)),
        previous_secret_ciphertext: graceMs > 0 ? before.secret_ciphertext : null,
        previous_secret_until: graceMs > 0 ? isoNow(Date.now() + graceMs) : null,
        updated_at: isoNow(),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    await writeAudit(trx, {
      ...by,
      action: 'webhook.secret_rotated',
      targetType: 'webhook',
      targetId: id,
      details: { previousSecretUntil: after.previous_secret_until },
    });
    return after;
  });
  return { ...toWebhookView(row), secret };
}

/** Deletes the endpoint and its delivery log; events already in the outbox stay for other endpoints. */
export async function deleteWebhook(deps: Pick<AppContext, 'store'>, id: string, by: AuditActor): Promise<WebhookView> {
  return deps.store.db.transaction().execute(async (trx) => {
    const row = await requireEndpoint(trx, id);
    await trx.deleteFrom('webhook_deliveries').where('endpoint_id', '=', id).execute();
    await trx.deleteFrom('webhook_endpoints').where('id', '=', id).execute();
    await writeAudit(trx, { ...by, action: 'webhook.deleted', targetType: 'webhook', targetId: id, details: auditView(row) });
    return toWebhookView(row);
  });
}

type DeliveryRow = WebhookDeliveriesTable & { type: string };

function toDeliveryView(row: DeliveryRow): DeliveryView {
  return {
    id: row.id,
    webhookId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.type as DeliveryView['eventType'],
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.status === 'pending' ? row.next_attempt_at : null,
    lastStatusCode: row.last_status_code,
    lastDurationMs: row.last_duration_ms,
    lastResponse: row.last_response,
    lastError: row.last_error,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function deliveries(db: Kysely<Database>) {
  return db
    .selectFrom('webhook_deliveries')
    .innerJoin('webhook_events', 'webhook_events.id', 'webhook_deliveries.event_id')
    .selectAll('webhook_deliveries')
    .select('webhook_events.type');
}

/** An endpoint's deliveries, newest first. */
export async function listDeliveries(
  deps: Pick<AppContext, 'store'>,
  webhookId: string,
  query: { limit: number; cursor?: string | undefined; status?: WebhookDeliveriesTable['status'] | undefined },
) {
  await requireEndpoint(deps.store.db, webhookId);
  let select = deliveries(deps.store.db).where('webhook_deliveries.endpoint_id', '=', webhookId);
  if (query.status) select = select.where('webhook_deliveries.status', '=', query.status);
  if (query.cursor) select = select.where('webhook_deliveries.id', '<', query.cursor);
  const rows = await select
    .orderBy('webhook_deliveries.id', 'desc')
    .limit(query.limit + 1)
    .execute();
  return pageOf(rows, query.limit, toDeliveryView);
}

/**
 * Queues a delivery for an attempt now, whatever its status: a failed one gets one more attempt, a
 * succeeded one is sent again (receivers dedupe on `webhook-id`). A delivery being sent right now
 * keeps its lease: this only moves what the next attempt waits for.
 */
export async function retryDelivery(deps: Pick<AppContext, 'store'>, webhookId: string, deliveryId: string, by: AuditActor): Promise<DeliveryView> {
  return deps.store.db.transaction().execute(async (trx) => {
    const endpoint = await requireEndpoint(trx, webhookId);
    if (endpoint.enabled !== 1) throw conflict('webhook_disabled', 'The endpoint is disabled: enable it first (PATCH enabled: true).');
    const now = isoNow();
    const updated = await trx
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', next_attempt_at: now, updated_at: now })
      .where('id', '=', deliveryId)
      .where('endpoint_id', '=', webhookId)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) throw notFound('delivery_not_found', 'No such delivery of this endpoint.');
    await writeAudit(trx, { ...by, action: 'webhook.delivery_retried', targetType: 'webhook', targetId: webhookId, details: { deliveryId } });
    return toDeliveryView(await deliveries(trx).where('webhook_deliveries.id', '=', deliveryId).executeTakeFirstOrThrow());
  });
}

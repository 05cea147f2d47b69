import type { Kysely } from 'kysely';
import { newSortableId } from '../crypto/random.js';
import type { Database } from '../store/schema.js';
import { isoNow } from '../store/time.js';

/** Every lifecycle event a webhook endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = [
  'connection.created',
  'connection.reauthorized',
  'connection.refreshed',
  'connection.refresh_failed',
  'connection.needs_reauth',
  'connection.recovered',
  'connection.revoked',
  'install.created',
  'install.deleted',
  'session.failed',
  'partner.onboarded',
  'partner.suspended',
  'key.inactivated',
  'webhook.disabled',
] as const;

export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/**
 * Writes a lifecycle event to the outbox, with one pending delivery for each enabled endpoint
 * subscribed to its type. Pass the transaction of the change it describes: the change, its event
 * and its deliveries are stored together or not at all, so a crash between the change and the
 * delivery loses nothing (the dispatcher delivers what the outbox holds). `data` is the resource
 * as the API shows it — never a credential.
 */
export async function emitWebhookEvent(db: Kysely<Database>, type: WebhookEventType, data: Record<string, unknown>): Promise<void> {
  const id = newSortableId('msg');
  const now = isoNow();
  await db
    .insertInto('webhook_events')
    .values({ id, type, created_at: now, data: JSON.stringify(data) })
    .execute();
  const endpoints = await db.selectFrom('webhook_endpoints').select(['id', 'events']).where('enabled', '=', 1).execute();
  const subscribed = endpoints.filter((endpoint) => (JSON.parse(endpoint.events) as string[]).includes(type));
  if (subscribed.length === 0) return;
  await db
    .insertInto('webhook_deliveries')
    .values(
      subscribed.map((endpoint) => ({
        id: newSortableId('whd'),
        event_id: id,
        endpoint_id: endpoint.id,
        status: 'pending' as const,
        attempts: 0,
        next_attempt_at: now,
        claimed_until: null,
        claim_token: null,
        last_status_code: null,
        last_duration_ms: null,
        last_response: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })),
    )
    .execute();
}

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
 * Writes a lifecycle event to the outbox. Pass the transaction of the change it describes: the
 * change and its event are stored together or not at all, so a crash between the change and the
 * delivery loses nothing (the dispatcher delivers what the outbox holds). `data` is the resource
 * as the API shows it — never a credential.
 */
export async function emitWebhookEvent(db: Kysely<Database>, type: WebhookEventType, data: Record<string, unknown>): Promise<void> {
  await db
    .insertInto('webhook_events')
    .values({ id: newSortableId('msg'), type, created_at: isoNow(), data: JSON.stringify(data) })
    .execute();
}

/** What the partner API shows of a partner and its grants (never a key or a link code). */
import type { GrantView, PartnerView } from '@patchbay/contract';
import type { PartnersTable, TopicGrantsTable } from '../store/schema.js';

/** What the partner API shows of a partner and its grants: the contract's shapes. */
export type { GrantView, PartnerView };

export function toPartnerView(row: PartnersTable): PartnerView {
  const metadata = JSON.parse(row.metadata) as PartnerView['metadata'];
  const tags = Array.isArray(metadata.tags) ? metadata.tags.filter((tag): tag is string => typeof tag === 'string') : [];
  return {
    id: row.id,
    appName: row.app_name,
    appDescription: row.app_description,
    contact: row.contact,
    status: row.status,
    metadata,
    tags,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toGrantView(row: TopicGrantsTable): GrantView {
  return { id: row.id, topic: row.pattern, environment: row.environment, send: row.can_send === 1, receive: row.can_receive === 1 };
}

/** `patchbay audit list` over the API (`GET /v1/audit`, an admin key). The trail is read-only. */
import { parseArgs } from 'node:util';
import type { Environment } from '../settings.js';
import { clientFrom } from './client.js';
import { isoOrInvalid } from './output.js';
import { dispatch, listCommand, pageFlags, remoteFlags } from './remote.js';
import { type Column, iso } from './table.js';

interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  /** What the actor acted through (a tenant's session), when the actor alone does not say. */
  via?: string | null;
  action: string;
  resourceType?: string;
  resourceId?: string;
  targetType?: string;
  targetId?: string;
  details?: Record<string, unknown>;
}

export const AUDIT_USAGE = `Usage:
  patchbay audit list [--resource-type TYPE] [--resource-id ID] [--actor ACTOR] [--action ACTION] [--from ISO-DATE] [--to ISO-DATE] [--limit N] [--cursor CURSOR] [--all]
Takes [--server URL] [--json]. Newest first; --action connection. (ending with a dot) matches every action of a resource;
--from is inclusive, --to exclusive.`;

const LIST: Column<AuditEntry>[] = [
  { header: 'at', value: (e) => iso(e.at) },
  { header: 'actor', value: (e) => (e.via ? `${e.actor} via ${e.via}` : e.actor), max: 48 },
  { header: 'action', value: (e) => e.action },
  { header: 'resource', value: (e) => `${e.resourceType ?? e.targetType ?? '-'} ${e.resourceId ?? e.targetId ?? '-'}` },
  { header: 'details', value: (e) => (e.details && Object.keys(e.details).length > 0 ? e.details : undefined), max: 60 },
];

async function list(argv: string[], env: Environment) {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...remoteFlags,
      ...pageFlags,
      'resource-type': { type: 'string' },
      'resource-id': { type: 'string' },
      actor: { type: 'string' },
      action: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
    },
    strict: true,
  });
  const query = {
    resourceType: values['resource-type'],
    resourceId: values['resource-id'],
    actor: values.actor,
    action: values.action,
    from: values.from === undefined ? undefined : isoOrInvalid(values.from),
    to: values.to === undefined ? undefined : isoOrInvalid(values.to),
  };
  return listCommand(clientFrom(values, env), '/v1/audit', query, values, LIST);
}

export function audit(argv: string[], env: Environment): Promise<number> {
  return dispatch(argv, env, { list }, AUDIT_USAGE);
}

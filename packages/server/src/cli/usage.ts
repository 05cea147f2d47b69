import { SCOPE_NAMES } from '../keys/scopes.js';
import { startFlagsUsage } from '../settings-help.js';
import { AUDIT_USAGE } from './audit.js';
import { DEFAULT_SERVER } from './client.js';
import { CONNECTIONS_USAGE } from './connections.js';
import { CONNECTORS_USAGE } from './connectors.js';
import { EVENTS_USAGE } from './events.js';
import { INSTALLS_USAGE } from './installs.js';
import { INTEGRATIONS_USAGE } from './integrations.js';
import { PARTNERS_USAGE } from './partners.js';
import { WEBHOOKS_USAGE } from './webhooks.js';

/** Each group's usage lines, without its `Usage:` heading and its closing notes. */
const linesOf = (usage: string) =>
  usage
    .split('\n')
    .filter((line) => line.startsWith('  patchbay'))
    .join('\n');

export const USAGE = `patchbay — the Patchbay companion server

Local commands: run the server, or work on its database directly (the first access key is made here).
  patchbay start ${startFlagsUsage()}
  patchbay start --help                              (every setting: flag, environment variable, default)
  patchbay migrate [--data-dir DIR]
  patchbay keys create --name NAME [--scope SCOPE ...] [--tenant TENANT] [--ip CIDR ...] [--expires ISO-DATE] [--description TEXT]
  patchbay keys list [--search TEXT] [--inactive]
  patchbay keys inactivate|reactivate <key id>
  patchbay keys roll <key id> [--grace SECONDS]      (0 = old key stops now; at most 604800)
  patchbay auth-events [--key ID] [--outcome success|failure] [--reason CODE] [--from ISO] [--to ISO] [--limit N]
  patchbay master-key

Settings come from flags or the environment (PATCHBAY_MASTER_KEY, PORT, DATABASE_URL, PATCHBAY_…):
see patchbay start --help. --dev (or PATCHBAY_DEV=1) runs the demo on loopback.
Scopes: ${SCOPE_NAMES.join(', ')} (read-only = every read scope).
Local commands take --data-dir / --database-url / --dev like start.

Remote commands: clients of a running server's API.
${linesOf(CONNECTORS_USAGE)}
${linesOf(INTEGRATIONS_USAGE)}
${linesOf(CONNECTIONS_USAGE)}
${linesOf(INSTALLS_USAGE)}
${linesOf(PARTNERS_USAGE)}
${linesOf(AUDIT_USAGE)}
${linesOf(EVENTS_USAGE)}
${linesOf(WEBHOOKS_USAGE)}

They call the server at --server URL (else PATCHBAY_SERVER, else ${DEFAULT_SERVER}) with the access
key in PATCHBAY_API_KEY — never a flag, which would stay in the shell's history and show in ps. So
the key's scopes and tenant decide what a command may do, every change is audited under the key,
and the commands work against a remote or multi-instance deployment and its runtime catalog.
Output is a table; --json prints the server's JSON answer. Lists show one page (--limit, --cursor)
or every page (--all). Exit codes: 0 done, 1 refused by the server or server unreachable
(error: <code>: <message> on stderr), 2 a mistake in the command line or settings.
patchbay <group> --help shows one group.`;

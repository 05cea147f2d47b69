/** The one partner lookup the partner modules share (its own file, so they need not import one another in a circle). */
import type { AppContext } from '../context.js';
import { notFound } from '../http/errors.js';
import type { PartnersTable } from '../store/schema.js';

export async function requirePartner(deps: Pick<AppContext, 'store'>, partnerId: string): Promise<PartnersTable> {
  const row = await deps.store.db.selectFrom('partners').selectAll().where('id', '=', partnerId).executeTakeFirst();
  if (!row) throw notFound('partner_not_found', 'No such partner.');
  return row;
}

/**
 * Every route's entry, keyed `METHOD path` exactly as the line of src/routes.ts `ROUTES`. A route
 * added there needs its entry here (test/openapi.test.ts names any route without one).
 */
import type { OperationDoc } from '../operation.js';
import { INTEGRATION_API_OPERATIONS } from './integration-api.js';
import { OPERATOR_OPERATIONS } from './operator.js';
import { PARTNER_OPERATIONS } from './partners.js';
import { WEBHOOK_OPERATIONS } from './webhooks.js';

export const operationKey = (method: string, path: string) => `${method} ${path}`;

export const OPERATIONS: Readonly<Record<string, OperationDoc>> = {
  ...OPERATOR_OPERATIONS,
  ...INTEGRATION_API_OPERATIONS,
  ...PARTNER_OPERATIONS,
  ...WEBHOOK_OPERATIONS,
};

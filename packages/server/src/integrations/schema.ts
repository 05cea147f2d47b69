import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';

const origin = z
  .url({ protocol: /^https?$/ })
  .transform((url) => new URL(url).origin)
  .pipe(z.string());

export const actionSchema = z.strictObject({
  connector: z.string().min(1),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  /** Path under the connector's baseUrl; `{tenantId}` and `{config.<field>}` are filled in. */
  path: z.string().startsWith('/'),
  /** Send the caller's JSON body upstream (POST/PUT/PATCH). */
  forwardBody: z.boolean().default(false),
});

export const configFieldSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,62}$/),
  label: z.string().min(1).max(100),
  required: z.boolean().default(false),
  description: z.string().max(300).optional(),
});

const integrationId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes');

const integrationFields = {
  name: z.string().min(1).max(100),
  description: z.string().max(500).default(''),
  /** The connectors a session of this integration may authorize (the user picks when there are several). */
  connectors: z.array(z.string().min(1)).min(1).max(50),
  /** Origins allowed for redirectUrl and for the widget's page (postMessage target). */
  allowedOrigins: z.array(origin).min(1),
  configFields: z.array(configFieldSchema).default([]),
  actions: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), actionSchema).default({}),
};

export const integrationDeclarationSchema = z.strictObject({ id: integrationId, ...integrationFields });

/** An integration created through the API: the id is derived from the name when not given. */
export const createIntegrationSchema = z.strictObject({ id: integrationId.optional(), ...integrationFields });

/** Every field but the id; what is sent replaces what was stored. */
export const updateIntegrationSchema = z.strictObject({
  name: integrationFields.name.optional(),
  description: z.string().max(500).optional(),
  connectors: integrationFields.connectors.optional(),
  allowedOrigins: integrationFields.allowedOrigins.optional(),
  configFields: z.array(configFieldSchema).optional(),
  actions: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), actionSchema).optional(),
});

export const deleteQuerySchema = z.object({ force: z.enum(['true', 'false']).default('false') });

export const integrationListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(100),
  cursor: z.string().max(64).optional(),
});

export type CreateIntegrationInput = z.output<typeof createIntegrationSchema>;
export type UpdateIntegrationInput = z.output<typeof updateIntegrationSchema>;
export type IntegrationDeclaration = z.output<typeof integrationDeclarationSchema>;
export type ActionDeclaration = z.output<typeof actionSchema>;
export type ConfigField = z.output<typeof configFieldSchema>;

/** An integration as answers show it: its declaration (defaults filled in), where it came from, when. */
export const integrationViewSchema = integrationDeclarationSchema.extend({
  /** `file`: from the declarations file, read-only through the API; `api`: made through the API. */
  source: z.enum(['file', 'api']),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const integrationPageSchema = listEnvelope(integrationViewSchema);

/** A tenant action's answer: the upstream's status and its body (JSON when it sent JSON, else text). */
export const actionResultSchema = z.object({ status: z.number().int(), body: z.unknown() });

/** `DELETE /v1/integrations/{integrationId}`: what went with it (installs soft-deleted, open sessions cancelled). */
export const deletedIntegrationSchema = z.object({
  deleted: z.object({ integration: z.string(), installs: z.number().int(), sessions: z.number().int() }),
});

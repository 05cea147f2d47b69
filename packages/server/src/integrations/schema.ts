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

export const integrationDeclarationSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'),
  name: z.string().min(1).max(100),
  description: z.string().max(500).default(''),
  /** The connectors a session of this integration may authorize (the user picks when there are several). */
  connectors: z.array(z.string().min(1)).min(1).max(50),
  /** Origins allowed for redirectUrl and for the widget's page (postMessage target). */
  allowedOrigins: z.array(origin).min(1),
  configFields: z.array(configFieldSchema).default([]),
  actions: z.record(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/), actionSchema).default({}),
});

export type IntegrationDeclaration = z.output<typeof integrationDeclarationSchema>;
export type ActionDeclaration = z.output<typeof actionSchema>;
export type ConfigField = z.output<typeof configFieldSchema>;

/** An integration as answers show it: its declaration, defaults filled in. */
export const integrationViewSchema = integrationDeclarationSchema;
export const integrationPageSchema = listEnvelope(integrationViewSchema);

/** A tenant action's answer: the upstream's status and its body (JSON when it sent JSON, else text). */
export const actionResultSchema = z.object({ status: z.number().int(), body: z.unknown() });

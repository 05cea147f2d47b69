import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { connectorDeclarationSchema, type ConnectorDeclaration, type SecretValue } from './connectors/schema.js';
import { integrationDeclarationSchema, type IntegrationDeclaration } from './integrations/schema.js';

/** The operator's declarations file (`patchbay.config.json`): connectors and integrations. */
export const declarationsSchema = z
  .strictObject({
    connectors: z.array(connectorDeclarationSchema).default([]),
    integrations: z.array(integrationDeclarationSchema).default([]),
  })
  .superRefine((value, ctx) => {
    const slugs = new Set<string>();
    for (const [index, connector] of value.connectors.entries()) {
      if (slugs.has(connector.slug)) ctx.addIssue({ code: 'custom', path: ['connectors', index, 'slug'], message: `duplicate slug ${connector.slug}` });
      slugs.add(connector.slug);
    }
    const ids = new Set<string>();
    for (const [index, integration] of value.integrations.entries()) {
      if (ids.has(integration.id)) ctx.addIssue({ code: 'custom', path: ['integrations', index, 'id'], message: `duplicate id ${integration.id}` });
      ids.add(integration.id);
      for (const slug of integration.connectors) {
        if (!slugs.has(slug)) ctx.addIssue({ code: 'custom', path: ['integrations', index, 'connectors'], message: `unknown connector ${slug}` });
      }
      for (const [name, action] of Object.entries(integration.actions)) {
        if (!integration.connectors.includes(action.connector)) {
          ctx.addIssue({
            code: 'custom',
            path: ['integrations', index, 'actions', name, 'connector'],
            message: `action uses connector ${action.connector}, which the integration does not list`,
          });
        }
      }
    }
  });

export interface Declarations {
  connectors: ConnectorDeclaration[];
  integrations: IntegrationDeclaration[];
}

export class DeclarationsError extends Error {}

export function parseDeclarations(input: unknown, source: string): Declarations {
  const parsed = declarationsSchema.safeParse(input);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new DeclarationsError(`Invalid declarations in ${source}:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function readDeclarationsFile(file: string): Declarations {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // JSON.parse quotes the text around a syntax error, which may be a secret: never repeat it.
    const reason = error instanceof SyntaxError ? 'it is not valid JSON' : ((error as NodeJS.ErrnoException).code ?? 'unreadable');
    throw new DeclarationsError(`Cannot read ${file}: ${reason}.`);
  }
  return parseDeclarations(raw, file);
}

/** Resolves `{ "env": "NAME" }` secrets; a missing variable is a start-up error, not a runtime surprise. */
export function resolveSecret(value: SecretValue | undefined, env: Record<string, string | undefined>, where: string): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  const resolved = env[value.env];
  if (!resolved) throw new DeclarationsError(`${where}: environment variable ${value.env} is not set`);
  return resolved;
}

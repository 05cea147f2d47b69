import { listEnvelope } from '@patchbay/contract';
import { z } from 'zod';

/** A secret in the declarations file: literal, or the name of an environment variable holding it. */
export const secretValueSchema = z.union([z.string().min(1), z.strictObject({ env: z.string().min(1) })]);

const httpUrl = z.url({ protocol: /^https?$/ });
const methodBase = { label: z.string().min(1).max(60).optional(), default: z.boolean().optional() };

/** An oauth2 method's fields but its client secret, which answers never show. */
const oauth2Fields = {
  type: z.literal('oauth2'),
  ...methodBase,
  /** OIDC issuer: endpoints come from its discovery document. */
  issuer: httpUrl.optional(),
  authorizationUrl: httpUrl.optional(),
  tokenUrl: httpUrl.optional(),
  clientId: z.string().min(1),
  scopes: z.array(z.string().min(1)).default([]),
  /** Extra parameters for the authorize request (e.g. `access_type=offline`). */
  authorizeParams: z.record(z.string(), z.string()).default({}),
};

export const oauth2AuthSchema = z
  .strictObject({ ...oauth2Fields, clientSecret: secretValueSchema.optional() })
  .refine((auth) => auth.issuer || (auth.authorizationUrl && auth.tokenUrl), {
    message: 'an oauth2 method needs either issuer (OIDC discovery) or both authorizationUrl and tokenUrl',
  });

/**
 * The six ways a connector can authenticate upstream calls. Discriminated by `type`, so a bad
 * method is reported by the field that is wrong (`authMethods.0.type`, `authMethods.0.name`)
 * rather than as "Invalid input" for the whole method.
 */
const noneMethod = z.strictObject({ type: z.literal('none'), ...methodBase });
const basicMethod = z.strictObject({ type: z.literal('basic'), ...methodBase });
const bearerMethod = z.strictObject({ type: z.literal('bearer'), ...methodBase });
const apiKeyMethod = z.strictObject({
  type: z.literal('apiKey'),
  ...methodBase,
  in: z.enum(['header', 'query']).default('header'),
  name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'a header or query parameter name'),
});
const customMethod = z.strictObject({ type: z.literal('custom'), ...methodBase, handler: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) });

export const authMethodSchema = z.discriminatedUnion('type', [noneMethod, basicMethod, bearerMethod, apiKeyMethod, oauth2AuthSchema, customMethod]);

/** An auth method as answers show it: an oauth2 method says whether it has a client secret, never which. */
export const publicAuthMethodSchema = z.discriminatedUnion('type', [
  noneMethod,
  basicMethod,
  bearerMethod,
  apiKeyMethod,
  z.strictObject({ ...oauth2Fields, hasClientSecret: z.boolean() }),
  customMethod,
]);

const actionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -');

export const connectorActionSchema = z.strictObject({
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
  /** Path under baseUrl; `{name}` placeholders are filled from the call's input. */
  path: z.string().startsWith('/').max(2048),
  query: z.record(z.string(), z.string()).default({}),
  body: z.unknown().optional(),
});

/**
 * `private`: the operator's own test connector, never offered in an integration; `shared`: may be
 * offered. `public` is the word some consoles use for `shared`, accepted and stored as `shared`.
 */
const visibility = z.enum(['private', 'shared', 'public']).transform((value) => (value === 'public' ? 'shared' : value));

const connectorFields = {
  name: z.string().min(1).max(100),
  description: z.string().max(500).default(''),
  domain: z.string().max(253).optional(),
  visibility: visibility.default('shared'),
  iconUrl: httpUrl.optional(),
  /** Every upstream call goes under this URL and nowhere else. */
  baseUrl: httpUrl,
  authMethods: z.array(authMethodSchema).min(1).max(6),
  actions: z.record(actionName, connectorActionSchema).default({}),
  /** An action that must answer 2xx before typed-in credentials are saved. */
  verifyAction: actionName.optional(),
  /** How often the health scheduler runs the verify action on each stored connection (`30m`, `6h`, `1d`); unset: never. */
  verifyEvery: z
    .string()
    .regex(/^[1-9][0-9]{0,4}[mhd]$/, 'a whole number of minutes, hours or days: 30m, 6h, 1d')
    .optional(),
};

function checkMethods(
  value: {
    authMethods: Array<{ type: string; default?: boolean | undefined }>;
    verifyAction?: string | undefined;
    verifyEvery?: string | undefined;
    actions: Record<string, unknown>;
  },
  ctx: z.RefinementCtx,
) {
  if (value.authMethods.filter((method) => method.default).length > 1)
    ctx.addIssue({ code: 'custom', path: ['authMethods'], message: 'at most one method is the default' });
  if (value.authMethods.filter((method) => method.type === 'oauth2').length > 1)
    ctx.addIssue({ code: 'custom', path: ['authMethods'], message: 'at most one oauth2 method per connector' });
  if (new Set(value.authMethods.map((method) => method.type)).size !== value.authMethods.length)
    ctx.addIssue({ code: 'custom', path: ['authMethods'], message: 'each method type at most once' });
  if (value.verifyAction && !(value.verifyAction in value.actions))
    ctx.addIssue({ code: 'custom', path: ['verifyAction'], message: `no action named ${value.verifyAction}` });
  if (value.verifyEvery && !value.verifyAction) ctx.addIssue({ code: 'custom', path: ['verifyEvery'], message: 'verifyEvery needs a verifyAction' });
}

/**
 * Exactly one method is the default once parsed: the one marked, else the first. The hosted flow
 * and every reader then agree on it without re-deriving it.
 */
function markOneDefault<T extends { authMethods: Array<{ default?: boolean | undefined }> }>(value: T): T {
  const chosen = defaultMethod(value.authMethods);
  return { ...value, authMethods: value.authMethods.map((method) => ({ ...method, default: method === chosen })) };
}

/** A connector in the declarations file. `auth` (one method) is accepted as shorthand for `authMethods`. */
export const connectorDeclarationSchema = z
  .preprocess(
    (input) => {
      if (input && typeof input === 'object' && 'auth' in input && !('authMethods' in input)) {
        const { auth, ...rest } = input as Record<string, unknown>;
        return { ...rest, authMethods: [auth] };
      }
      return input;
    },
    z.strictObject({ slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and dashes'), ...connectorFields }),
  )
  .superRefine(checkMethods)
  .transform(markOneDefault);

/** A connector created through the API: the slug is derived from the name. */
export const createConnectorSchema = z
  .strictObject({
    slug: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,62}$/)
      .optional(),
    ...connectorFields,
  })
  .superRefine(checkMethods)
  .transform(markOneDefault);

/** A connector's change: every field but the slug; what is sent replaces what was stored. */
export const updateConnectorSchema = z.strictObject({
  name: connectorFields.name.optional(),
  description: z.string().max(500).optional(),
  domain: connectorFields.domain,
  visibility: visibility.optional(),
  iconUrl: connectorFields.iconUrl,
  baseUrl: httpUrl.optional(),
  authMethods: connectorFields.authMethods.optional(),
  actions: z.record(actionName, connectorActionSchema).optional(),
  verifyAction: connectorFields.verifyAction,
  verifyEvery: connectorFields.verifyEvery,
});

export type UpdateConnectorInput = z.output<typeof updateConnectorSchema>;
export type ConnectorDeclaration = z.output<typeof connectorDeclarationSchema>;

/** A connector as answers show it (the catalog holds these): no client secret, where it came from, when. */
export const connectorViewSchema = z.object({
  slug: z.string(),
  ...connectorFields,
  /** Stored as given, `public` already turned into `shared`. */
  visibility: z.enum(['private', 'shared']),
  authMethods: z.array(publicAuthMethodSchema),
  /** `file`: from the declarations file, read-only through the API; `api`: made through the API. */
  source: z.enum(['file', 'api']),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const connectorPageSchema = listEnvelope(connectorViewSchema);

/** `POST /v1/connectors/{slug}/actions/{action}/test`: what the upstream answered, secrets masked. */
export const actionTestAnswerSchema = z.object({ status: z.number().int(), headers: z.record(z.string(), z.string()), body: z.unknown() });
/** `DELETE /v1/connectors/{slug}`: the connections a forced delete revoked. */
export const deletedConnectorSchema = z.object({ deleted: z.object({ connector: z.string(), connections: z.number().int() }) });
export type AuthMethod = z.output<typeof authMethodSchema>;
export type OAuth2Auth = z.output<typeof oauth2AuthSchema>;
export type SecretValue = z.output<typeof secretValueSchema>;
export type ConnectorAction = z.output<typeof connectorActionSchema>;

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `verifyEvery` in milliseconds (the schema has checked its form). */
export function verifyIntervalMs(verifyEvery: string): number {
  return Number(verifyEvery.slice(0, -1)) * UNIT_MS[verifyEvery.slice(-1) as keyof typeof UNIT_MS];
}

/** The default method: the one marked default, else the first. */
export function defaultMethod<M extends { default?: boolean | undefined }>(methods: readonly M[]): M {
  return methods.find((method) => method.default) ?? methods[0]!;
}

import type { TokenSet } from '../connections/oauth.js';
import type { PublicAuthMethod } from './catalog.js';

/** What a connection holds, per method. Stored encrypted; never returned by the API. */
export type Credentials =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'apiKey'; key: string }
  | { type: 'oauth2'; tokens: TokenSet }
  | { type: 'custom'; handler: string; values: Record<string, string> };

/** A request on its way upstream; auth methods add headers or query parameters to it. */
export interface UpstreamRequest {
  /** The HTTP method, for schemes that sign it (it cannot be changed here). */
  readonly method: string;
  url: URL;
  headers: Headers;
}

export interface FormField {
  name: string;
  label: string;
  /** Rendered as a password field and never echoed back into the form. */
  secret: boolean;
}

/**
 * A proprietary scheme, registered in server code:
 * `defineAuthMethod({ fields, apply(request, credentials), refresh? })`, then passed to
 * `createPatchbay(config, { authMethods: { name: method } })` and named by a connector's
 * `{ "type": "custom", "handler": "name" }`.
 */
export interface CustomAuthMethod {
  fields: FormField[];
  apply(request: UpstreamRequest, credentials: Record<string, string>): void | Promise<void>;
  /** Called once when the upstream answers 401; returns replacement credentials to store. */
  refresh?(credentials: Record<string, string>): Promise<Record<string, string>>;
}

export function defineAuthMethod(method: CustomAuthMethod): CustomAuthMethod {
  return method;
}

export type CustomAuthMethods = Readonly<Record<string, CustomAuthMethod>>;

export const MAX_CREDENTIAL_LENGTH = 4096;

/** The fields the hosted flow asks for, per method. */
export function formFieldsFor(method: PublicAuthMethod, customs: CustomAuthMethods): FormField[] | null {
  switch (method.type) {
    case 'none':
      return [];
    case 'basic':
      return [
        { name: 'username', label: 'Username', secret: false },
        { name: 'password', label: 'Password', secret: true },
      ];
    case 'bearer':
      return [{ name: 'token', label: 'Token', secret: true }];
    case 'apiKey':
      return [{ name: 'key', label: 'API key', secret: true }];
    case 'custom':
      return customs[method.handler]?.fields ?? null;
    case 'oauth2':
      return null;
  }
}

/** Builds credentials from submitted form values; null with a message for empty or oversized values. */
export function credentialsFromForm(
  method: PublicAuthMethod,
  values: Record<string, string>,
  customs: CustomAuthMethods,
): { credentials: Credentials } | { error: string } {
  const fields = formFieldsFor(method, customs);
  if (fields === null) return { error: 'This sign-in method does not use a form.' };
  const read: Record<string, string> = {};
  for (const field of fields) {
    const value = (values[field.name] ?? '').trim();
    if (!value) return { error: `${field.label} is required.` };
    if (value.length > MAX_CREDENTIAL_LENGTH) return { error: `${field.label} is too long (at most ${MAX_CREDENTIAL_LENGTH} characters).` };
    read[field.name] = value;
  }
  switch (method.type) {
    case 'none':
      return { credentials: { type: 'none' } };
    case 'basic':
      return { credentials: { type: 'basic', username: read.username!, password: read.password! } };
    case 'bearer':
      return { credentials: { type: 'bearer', token: read.token! } };
    case 'apiKey':
      return { credentials: { type: 'apiKey', key: read.key! } };
    case 'custom':
      return { credentials: { type: 'custom', handler: method.handler, values: read } };
    case 'oauth2':
      return { error: 'This sign-in method does not use a form.' };
  }
}

/** Applies a connection's credentials to an upstream request, the way its method says. */
export async function applyCredentials(
  request: UpstreamRequest,
  method: PublicAuthMethod,
  credentials: Credentials,
  customs: CustomAuthMethods,
): Promise<void> {
  switch (credentials.type) {
    case 'none':
      return;
    case 'basic':
      request.headers.set('authorization', `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`);
      return;
    case 'bearer':
      request.headers.set('authorization', `Bearer ${credentials.token}`);
      return;
    case 'oauth2':
      request.headers.set('authorization', `Bearer ${credentials.tokens.accessToken}`);
      return;
    case 'apiKey':
      if (method.type !== 'apiKey') throw new Error('credentials do not match the method');
      if (method.in === 'query') request.url.searchParams.set(method.name, credentials.key);
      else request.headers.set(method.name, credentials.key);
      return;
    case 'custom': {
      const handler = customs[credentials.handler];
      if (!handler) throw new Error(`custom auth method ${credentials.handler} is not registered`);
      await handler.apply(request, credentials.values);
      return;
    }
  }
}

/** Every secret value in a set of credentials, for masking test output. */
export function secretsOf(credentials: Credentials): string[] {
  switch (credentials.type) {
    case 'none':
      return [];
    case 'basic':
      return [credentials.password, Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')];
    case 'bearer':
      return [credentials.token];
    case 'apiKey':
      return [credentials.key];
    case 'oauth2':
      return [credentials.tokens.accessToken, ...(credentials.tokens.refreshToken ? [credentials.tokens.refreshToken] : [])];
    case 'custom':
      return Object.values(credentials.values);
  }
}

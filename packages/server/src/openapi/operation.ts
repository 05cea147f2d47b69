/**
 * What the OpenAPI document says about one route, beside what the route itself already knows (its
 * zod schemas): one entry per line of src/routes.ts `ROUTES`, keyed `METHOD path` exactly as there.
 */
import type { z } from 'zod';
import type { Scope } from '../keys/scopes.js';

/**
 * How a caller proves who it is. `accessKey`: `Authorization: Bearer pbk_…` (or a token made from
 * one by `POST /v1/tokens`), needing `scope`; `sessionToken`: the browser's `ses_…_secret_…`;
 * `partnerKey`: a partner's `pbp_…`; `portalSession`: the partner portal's cookie or its token.
 * No entry at all means the route is public (or its path holds the only secret, like a session id).
 */
export type Credential = 'accessKey' | 'sessionToken' | 'partnerKey' | 'portalSession';

/** An answer that is not JSON: a page, a stream, a file, or nothing. */
export interface OtherContent {
  mediaType: string | null;
  description: string;
}

export type Answer = z.ZodType | OtherContent;

export interface OperationDoc {
  summary: string;
  /** Longer prose, Markdown. */
  description?: string;
  tag: Tag;
  /** Any one of these credentials is accepted; none: public. */
  auth?: readonly Credential[];
  /** The scope an access key needs (`admin` passes every check). */
  scope?: Scope;
  /** Path parameters whose form is checked (the others are any text). */
  params?: Record<string, z.ZodType>;
  query?: z.ZodType;
  /** A JSON body (validated with this schema), or a form post (`form`). */
  body?: z.ZodType;
  form?: z.ZodType;
  /** By status; a JSON answer is its zod schema. */
  answers: Record<number, Answer>;
  /** Any other status: an answer passed through from elsewhere (the proxy's third party). */
  otherwise?: OtherContent;
  /** The route's own refusals by status (credential, input and store refusals are added for every route). */
  errors?: Record<number, readonly string[]>;
}

export const TAGS = {
  Sessions: 'The install flow: the host backend makes a session, the widget and the browser run it.',
  Installs: "A tenant's configured integrations.",
  Integrations: 'What tenants install, and the actions the host calls on their behalf.',
  Connectors: 'How to reach each third-party service.',
  Connections: "Tenants' credentials for one connector, and the proxy that uses them.",
  Partners: 'Partner apps, their one-time links and topic grants (operator side).',
  'Partner portal': 'The partner’s own side, behind the portal session from a redeemed link.',
  Events: 'Publish and read events: access keys by scope, partner keys by topic grants.',
  Keys: 'Access keys, tokens, auth events and the audit trail.',
  Webhooks: 'Lifecycle events sent to your endpoints, signed the Standard Webhooks way.',
  Operations: 'Health, readiness, metrics and this reference.',
  Pages: 'Pages for people: the hosted flow, the partner page.',
} as const;
export type Tag = keyof typeof TAGS;

export const isOtherContent = (answer: Answer): answer is OtherContent => 'mediaType' in answer && 'description' in answer;

/** The shorthands of the tables. */
export const noContent = (description: string): OtherContent => ({ mediaType: null, description });
export const htmlPage = (description: string): OtherContent => ({ mediaType: 'text/html', description });

import type {
  ErrorEnvelope,
  PartnerDetails,
  PartnerEnvironment,
  PortalGrant,
  PortalKey,
  PortalKeyAnswer,
  PortalState,
  PortalWorkspace,
  Subscriptions,
} from '@patchbay/contract';
import { PatchbayApiError } from './api-client.js';

/** The partner portal as `<partner-onboarding>` sees it (docs/partners.md): the contract's shapes, types only. */
export type { PartnerEnvironment, PortalGrant, PortalKey, PortalState, PortalWorkspace };

/**
 * Talks to the portal endpoints. On the server's own site the session is an httpOnly cookie this
 * code never sees. Embedded on a host's site (an origin the server lists), the redemption answers
 * with a session token instead, kept in this object only — never in storage — and sent as a bearer
 * token. Every write carries a custom header, which a cross-site form cannot send (CSRF).
 */
export class PartnerPortalClient {
  readonly base: string;
  #sessionToken: string | null = null;

  constructor(server: string) {
    this.base = `${server.replace(/\/+$/, '')}/v1/partner-portal`;
  }

  async redeem(code: string): Promise<PortalState> {
    const answer = await this.#request<PortalState>('POST', '/redeem', { code });
    this.#sessionToken = answer.session?.token ?? null;
    return answer.data;
  }

  state(): Promise<PortalState> {
    return this.#data('GET', '');
  }

  saveDetails(details: PartnerDetails): Promise<PortalState> {
    return this.#data('PATCH', '/partner', details);
  }

  createKey(environment: PartnerEnvironment): Promise<PortalKeyAnswer['data']> {
    return this.#data('POST', `/keys/${environment}`, {});
  }

  rotateKey(environment: PartnerEnvironment, graceSeconds: number): Promise<PortalKeyAnswer['data']> {
    return this.#data('POST', `/keys/${environment}/rotate`, { graceSeconds });
  }

  saveSubscriptions(subscriptions: Subscriptions): Promise<PortalState> {
    return this.#data('PUT', '/subscriptions', subscriptions);
  }

  /**
   * A host's developer sees the partner's "could not be reached" screen too. Cross-origin, the most
   * likely cause is the server not listing this site (its refusal is a failed CORS preflight, which
   * a page cannot tell from a network failure), so the console says where to look, once.
   */
  #hintAtEmbedOrigins(): void {
    const serverOrigin = new URL(this.base, location.href).origin;
    if (serverOrigin === location.origin || PartnerPortalClient.#hinted) return;
    PartnerPortalClient.#hinted = true;
    console.warn(
      `<partner-onboarding>: ${serverOrigin} could not be reached from ${location.origin}. If this page embeds the partner portal, ` +
        `the server must list ${location.origin} in PATCHBAY_PARTNER_EMBED_ORIGINS (docs/partners.md).`,
    );
  }

  static #hinted = false;

  async #data<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.#request<T>(method, path, body)).data;
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<{ data: T; session?: { token: string } }> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        // The cookie goes only to the server's own origin; cross-origin, the token does the job.
        credentials: 'same-origin',
        headers: {
          'x-patchbay-portal': '1',
          ...(this.#sessionToken ? { authorization: `Bearer ${this.#sessionToken}` } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      this.#hintAtEmbedOrigins();
      throw new PatchbayApiError(0, 'network_error', 'The Patchbay server could not be reached.');
    }
    const answer = (await response.json().catch(() => null)) as ({ data: T; session?: { token: string } } & Partial<ErrorEnvelope>) | null;
    if (!response.ok || !answer)
      throw new PatchbayApiError(response.status, answer?.error?.code ?? 'http_error', answer?.error?.message ?? `The server answered ${response.status}.`);
    return answer;
  }
}

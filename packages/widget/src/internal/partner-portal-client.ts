import { PatchbayApiError } from './api-client.js';

/** The partner portal as `<partner-onboarding>` sees it (docs/partners.md). */
export type PartnerEnvironment = 'dev' | 'stage' | 'prod';

export interface PortalWorkspace {
  name: string;
  color: string | null;
  iconUrl: string | null;
}

export interface PortalGrant {
  topic: string;
  send: boolean;
  receive: boolean;
}

export interface PortalKey {
  environment: PartnerEnvironment;
  prefix: string;
  createdAt: string;
  /** Set while an old key still works after a rotation. */
  previousExpiresAt: string | null;
}

export interface PortalState {
  workspace: PortalWorkspace;
  partner: { id: string; appName: string; appDescription: string; contact: string; status: string };
  invitation: string;
  keys: PortalKey[];
  grants: PortalGrant[];
  subscriptions: { publish: string[]; consume: string[] };
  apiBaseUrl: string;
  sessionExpiresAt: string;
}

/**
 * Talks to the portal endpoints with the portal session cookie (httpOnly: this code never sees
 * it). Every write carries a custom header, which a cross-site form cannot send (CSRF).
 */
export class PartnerPortalClient {
  readonly base: string;

  constructor(server: string) {
    this.base = `${server.replace(/\/+$/, '')}/v1/partner-portal`;
  }

  redeem(code: string): Promise<PortalState> {
    return this.#request('POST', '/redeem', { code });
  }

  state(): Promise<PortalState> {
    return this.#request('GET', '');
  }

  saveDetails(details: { appName: string; appDescription: string; contact: string }): Promise<PortalState> {
    return this.#request('PATCH', '/partner', details);
  }

  createKey(environment: PartnerEnvironment): Promise<{ key: string; state: PortalState }> {
    return this.#request('POST', `/keys/${environment}`, {});
  }

  rotateKey(environment: PartnerEnvironment, graceSeconds: number): Promise<{ key: string; state: PortalState }> {
    return this.#request('POST', `/keys/${environment}/rotate`, { graceSeconds });
  }

  saveSubscriptions(subscriptions: { publish: string[]; consume: string[] }): Promise<PortalState> {
    return this.#request('PUT', '/subscriptions', subscriptions);
  }

  async #request<T>(method: string, path: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        credentials: 'include',
        headers: { 'x-patchbay-portal': '1', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    } catch {
      throw new PatchbayApiError(0, 'network_error', 'The Patchbay server could not be reached.');
    }
    const answer = (await response.json().catch(() => null)) as { data?: T; error?: { code: string; message: string } } | null;
    if (!response.ok) throw new PatchbayApiError(response.status, answer?.error?.code ?? 'http_error', answer?.error?.message ?? `The server answered ${response.status}.`);
    return answer?.data as T;
  }
}

/** The widget's view of the Patchbay server: the session endpoints of docs/flow.md, nothing else. */

export type SessionStatus = 'created' | 'started' | 'configuring' | 'authorized' | 'cancelled' | 'failed' | 'committed' | 'expired';

export interface SessionState {
  id: string;
  integrationId: string;
  tenantId: string;
  status: SessionStatus;
  error: { code: string; message: string } | null;
  installId: string | null;
  expiresAt: string;
  /** The connector chosen for the session, once known. */
  connector?: string | null;
}

export interface InstallState {
  id: string;
  integrationId: string;
  tenantId: string;
  operationState: { status: 'pending' | 'success' | 'failed'; message?: string };
}

/** The tenant's state for one connector: its worst connection's (docs/flow.md, section 5). */
export type ConnectorState = 'not_connected' | 'connected' | 'expiring' | 'needs_reauth';

/** One of the tenant's connections, as the session sees it. */
export interface TenantConnection {
  id: string;
  label: string | null;
  status: 'active' | 'expiring' | 'needs_reauth';
  /** When it was made (ISO). */
  connectedAt: string;
  /** When the credentials will need the person again (ISO), or null. */
  expiresAt: string | null;
}

/** One connector the session may connect, with this tenant's state for it. */
export interface SessionConnector {
  slug: string;
  name: string;
  description: string;
  domain: string | null;
  iconUrl: string | null;
  methods: string[];
  state: ConnectorState;
  connections: TenantConnection[];
}

export class PatchbayApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'PatchbayApiError';
  }
}

export class ApiClient {
  constructor(
    readonly server: string,
    readonly integration: string,
    private readonly token: string,
  ) {}

  get integrationBaseUrl(): string {
    return `${this.server.replace(/\/+$/, '')}/v1/integrations/${encodeURIComponent(this.integration)}`;
  }

  startUrl(sessionId: string, mode: 'popup' | 'page', origin: string, extra: Record<string, string> = {}): string {
    const query = new URLSearchParams({ mode, ...(mode === 'popup' ? { origin } : {}), ...extra });
    return `${this.integrationBaseUrl}/session/${sessionId}/start?${query}`;
  }

  getSession(sessionId: string, signal?: AbortSignal): Promise<SessionState> {
    return this.#request(`${this.integrationBaseUrl}/session/${sessionId}`, { signal });
  }

  async getConnectors(sessionId: string, signal?: AbortSignal): Promise<SessionConnector[]> {
    const { data } = await this.#request<{ data: SessionConnector[] }>(`${this.integrationBaseUrl}/session/${sessionId}/connectors`, { signal });
    return data;
  }

  /** Revokes one of the tenant's connections; answers the connectors view after it. */
  async disconnect(sessionId: string, connectionId: string, signal?: AbortSignal): Promise<SessionConnector[]> {
    const url = `${this.integrationBaseUrl}/session/${sessionId}/connections/${encodeURIComponent(connectionId)}`;
    const { data } = await this.#request<{ data: SessionConnector[] }>(url, { method: 'DELETE', signal });
    return data;
  }

  commit(sessionId: string, signal?: AbortSignal): Promise<{ targetUrl: string }> {
    return this.#request(`${this.integrationBaseUrl}/session/${sessionId}/commit`, { method: 'POST', signal });
  }

  /** The person chose Cancel: ends the session on the server too (docs/flow.md, "How a flow ends"). */
  cancelSession(sessionId: string, signal?: AbortSignal): Promise<SessionState> {
    return this.#request(`${this.integrationBaseUrl}/session/${sessionId}/cancel`, { method: 'POST', signal });
  }

  getInstall(targetUrl: string, signal?: AbortSignal): Promise<InstallState> {
    return this.#request(targetUrl, { signal });
  }

  async #request<T>(url: string, init: { method?: string; signal?: AbortSignal | undefined }): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url, {
        method: init.method ?? 'GET',
        headers: { authorization: `Bearer ${this.token}` },
        signal: init.signal ?? null,
        credentials: 'omit',
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new PatchbayApiError(0, 'network_error', 'The Patchbay server could not be reached.');
    }
    const body = (await response.json().catch(() => null)) as (T & { error?: { code: string; message: string } }) | null;
    if (!response.ok) {
      const code = body?.error?.code ?? 'http_error';
      if (code === 'origin_not_allowed') this.#hintAtAllowedOrigins(url);
      throw new PatchbayApiError(response.status, code, body?.error?.message ?? `The server answered ${response.status}.`);
    }
    return body as T;
  }

  /**
   * `origin_not_allowed` is the host's developer's to fix, not the person's: the console says what
   * to change, once per page however many elements and calls meet it.
   */
  #hintAtAllowedOrigins(url: string): void {
    if (ApiClient.#hinted) return;
    ApiClient.#hinted = true;
    console.warn(
      `Patchbay: ${new URL(url, location.href).origin} refuses calls from this page's origin ${location.origin} for integration "${this.integration}". ` +
        `Add ${location.origin} to that integration's allowedOrigins in the Patchbay server's config file (docs/flow.md, "Errors").`,
    );
  }

  static #hinted = false;
}

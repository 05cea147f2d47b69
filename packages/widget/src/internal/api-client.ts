/** The widget's view of the Patchbay server: the session endpoints of docs/flow.md, nothing else. */
import type {
  CommitAnswer,
  ConnectorsAnswer,
  ConnectorState,
  ErrorEnvelope,
  InstallView,
  SessionConnectorView,
  SessionStatus,
  SessionView,
  TenantConnectionView,
} from '@patchbay/contract';

// The wire shapes are the contract's (types only: zod stays out of the bundle), under the widget's names.
export type { ConnectorState, SessionStatus };
export type SessionState = SessionView;
export type InstallState = InstallView;
/** One of the tenant's connections, as the session sees it. */
export type TenantConnection = TenantConnectionView;
/** One connector the session may connect, with this tenant's state for it. */
export type SessionConnector = SessionConnectorView;

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
    const { data } = await this.#request<ConnectorsAnswer>(`${this.integrationBaseUrl}/session/${sessionId}/connectors`, { signal });
    return data;
  }

  /** Revokes one of the tenant's connections; answers the connectors view after it. */
  async disconnect(sessionId: string, connectionId: string, signal?: AbortSignal): Promise<SessionConnector[]> {
    const url = `${this.integrationBaseUrl}/session/${sessionId}/connections/${encodeURIComponent(connectionId)}`;
    const { data } = await this.#request<ConnectorsAnswer>(url, { method: 'DELETE', signal });
    return data;
  }

  commit(sessionId: string, signal?: AbortSignal): Promise<CommitAnswer> {
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
    const body = (await response.json().catch(() => null)) as (T & Partial<ErrorEnvelope>) | null;
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

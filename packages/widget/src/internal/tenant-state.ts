import { initialState, Task, TaskStatus } from '@lit/task';
import { ApiClient, type ConnectorState, PatchbayApiError, type SessionConnector, type TenantConnection } from './api-client.js';
import { type ConnectHost, reportLoadError, sessionOf } from './connect-host.js';
import { sessionIdOf } from './session-token.js';

/**
 * The tenant's current state for an integration, read from the server for the session: the one
 * place `<connect-button>` and `<connector-picker>` get it from, so the two never disagree.
 */
export type TenantState = ConnectorState;

export interface TenantSummary {
  state: TenantState;
  /** The connector the state is about (its worst one), or null when nothing is connected. */
  connector: SessionConnector | null;
  /** The connection the state is about: the one that needs the person, else the first that works. */
  connection: TenantConnection | null;
}

const RANK: Record<TenantState, number> = { not_connected: 0, connected: 1, expiring: 2, needs_reauth: 3 };
const CONNECTION_STATUS: Record<Exclude<TenantState, 'not_connected'>, TenantConnection['status']> = {
  connected: 'active',
  expiring: 'expiring',
  needs_reauth: 'needs_reauth',
};

/** The integration's state for the tenant: its worst connector's, as the server ranks connections. */
export function summarize(connectors: readonly SessionConnector[]): TenantSummary {
  let summary: TenantSummary = { state: 'not_connected', connector: null, connection: null };
  for (const connector of connectors) {
    if (RANK[connector.state] <= RANK[summary.state] || connector.state === 'not_connected') continue;
    const wanted = CONNECTION_STATUS[connector.state];
    const connection = connector.connections.find((candidate) => candidate.status === wanted) ?? connector.connections[0] ?? null;
    summary = { state: connector.state, connector, connection };
  }
  return summary;
}

export interface TenantStateOptions {
  /** Whether an empty token is an error (the picker) or just "nothing to show yet" (the button). */
  requireToken: boolean;
}

/**
 * Loads the session's connectors view (docs/flow.md, section 5) through @lit/task: again when the
 * server, integration or token changes, on `refresh()`, and after a disconnect (whose answer is
 * the new view, so no second request is made). A failed load is reported (`patchbay-error`) and
 * shown by the element; it never spins forever.
 */
export class TenantStateController {
  readonly task: Task<readonly [string, string, string], SessionConnector[]>;
  #next: SessionConnector[] | null = null;

  constructor(
    private readonly host: ConnectHost,
    options: TenantStateOptions,
  ) {
    this.task = new Task(host, {
      task: async ([server, integration, token], { signal }) => {
        if (!options.requireToken && (!token || !integration)) return initialState;
        const sessionId = sessionIdOf(token);
        if (!sessionId) throw new PatchbayApiError(0, 'invalid_session_token', this.#invalidTokenText());
        const next = this.#next;
        this.#next = null;
        return next ?? new ApiClient(server, integration, token).getConnectors(sessionId, signal);
      },
      args: () => {
        const { server, integration, token } = sessionOf(host);
        return [server, integration, token] as const;
      },
      onError: (error) => {
        // No token yet is the host still fetching one, not an error to report (the picker shows it when opened).
        if ((error as Error).name !== 'AbortError' && host.sessionToken) reportLoadError(host, toError(error), 'tenant');
      },
    });
  }

  #invalidTokenText(): string {
    return this.host.i18n.text('error.invalidToken');
  }

  /** The connectors view, once loaded (kept while a refresh is on its way). */
  get connectors(): SessionConnector[] | undefined {
    return this.task.value;
  }

  /** The summary for the whole integration, once loaded. */
  get summary(): TenantSummary | null {
    return this.task.value ? summarize(this.task.value) : null;
  }

  /** The load's failure, when the last load failed. */
  get error(): { code: string; message: string } | null {
    return this.task.status === TaskStatus.ERROR ? toError(this.task.error) : null;
  }

  /** Reads the state again (after a connect, or on the host's request). */
  refresh(): Promise<unknown> {
    return this.task.run();
  }

  /** Revokes one of the tenant's connections on the server; the state follows from the answer. */
  async disconnect(connectionId: string): Promise<SessionConnector[]> {
    const { server, integration, token } = sessionOf(this.host);
    const sessionId = sessionIdOf(token);
    if (!sessionId) throw new PatchbayApiError(0, 'invalid_session_token', this.#invalidTokenText());
    const view = await new ApiClient(server, integration, token).disconnect(sessionId, connectionId);
    this.#next = view;
    await this.task.run();
    return view;
  }
}

export function toError(error: unknown): { code: string; message: string } {
  if (error instanceof PatchbayApiError) return { code: error.code, message: error.message };
  return { code: 'unexpected_error', message: error instanceof Error ? error.message : String(error) };
}

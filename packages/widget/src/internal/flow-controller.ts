import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MapStore } from 'nanostores';
import type { FlowState, FlowStep } from '../state/flow.js';
import { ApiClient, PatchbayApiError, type SessionState } from './api-client.js';
import { sessionIdOf } from './session-token.js';

export interface FlowOptions {
  server: string;
  integration: string;
  token: string;
  /** Extra start parameters: `connector` to choose one, `reauth` to replace a connection's credentials. */
  params?: Record<string, string>;
}

export interface FlowEvents {
  step(step: FlowStep): void;
  connected(detail: { installId: string; tenantId: string; integration: string; connector?: string }): void;
  cancelled(reason: 'popup_closed' | 'access_denied'): void;
  failed(error: { code: string; message: string }): void;
}

const POLL_MS = 1000;
const INSTALL_POLL_MS = 400;
const INSTALL_TIMEOUT_MS = 60_000;

/**
 * Runs one install flow for one element. The server's session state is the source of truth:
 * postMessage and BroadcastChannel only make us look sooner, polling always looks eventually.
 */
export class FlowController implements ReactiveController {
  #popup: Window | null = null;
  #api: ApiClient | null = null;
  #sessionId: string | null = null;
  #running = false;
  #checking = false;
  #timer: ReturnType<typeof setInterval> | null = null;
  #channel: BroadcastChannel | null = null;
  #abort: AbortController | null = null;
  #connector: string | undefined;

  constructor(
    host: ReactiveControllerHost,
    private readonly store: MapStore<FlowState>,
    private readonly events: FlowEvents,
  ) {
    host.addController(this);
  }

  get running(): boolean {
    return this.#running;
  }

  hostDisconnected(): void {
    this.#stop();
  }

  /** Opens the window; overridable so tests can observe it. Must stay synchronous. */
  openWindow(url: string, name: string): Window | null {
    const width = 520;
    const height = 720;
    const left = Math.max(0, window.screenX + (window.outerWidth - width) / 2);
    const top = Math.max(0, window.screenY + (window.outerHeight - height) / 2);
    return window.open(url, name, `popup,width=${width},height=${height},left=${left},top=${top}`);
  }

  /** Full-page navigation for page mode; overridable so tests can observe it. */
  navigate(url: string): void {
    window.location.assign(url);
  }

  /**
   * Starts the flow. Called from the click handler: the window opens before any await, or the
   * browser's popup blocker would stop it. A second call while a flow runs focuses the window.
   */
  start(options: FlowOptions): void {
    if (this.#running) {
      this.#popup?.focus();
      return;
    }
    const sessionId = sessionIdOf(options.token);
    if (!sessionId) {
      this.#fail({ code: 'invalid_session_token', message: 'This button has no valid session token.' });
      return;
    }
    const api = new ApiClient(options.server, options.integration, options.token);
    const popup = this.openWindow(api.startUrl(sessionId, 'popup', window.location.origin, options.params), `patchbay-${sessionId}`);
    if (!popup) {
      // Blocked: the same flow as a full-page redirect, resumed by `resume()` on return.
      this.store.set({ ...this.store.get(), status: 'connecting', step: 'authorize', error: null });
      this.navigate(api.startUrl(sessionId, 'page', window.location.origin, options.params));
      return;
    }
    this.#popup = popup;
    this.#begin(api, sessionId, options.params?.['connector']);
  }

  /** Continues a page-mode flow after the provider redirected back with `?session=`. */
  resume(options: FlowOptions): boolean {
    const sessionId = sessionIdOf(options.token);
    const url = new URL(window.location.href);
    if (!sessionId || url.searchParams.get('session') !== sessionId || this.#running) return false;
    url.searchParams.delete('session');
    url.searchParams.delete('status');
    window.history.replaceState(window.history.state, '', url.toString());
    this.#begin(new ApiClient(options.server, options.integration, options.token), sessionId);
    void this.#check();
    return true;
  }

  #begin(api: ApiClient, sessionId: string, connector?: string): void {
    this.#api = api;
    this.#connector = connector;
    this.#sessionId = sessionId;
    this.#running = true;
    this.#abort = new AbortController();
    this.store.set({ status: 'connecting', step: 'authorize', installId: null, error: null });
    this.events.step('authorize');
    window.addEventListener('message', this.#onMessage);
    if ('BroadcastChannel' in window) {
      this.#channel = new BroadcastChannel('patchbay');
      this.#channel.onmessage = (event: MessageEvent) => this.#onSignal(event.data);
    }
    this.#timer = setInterval(() => void this.#tick(), POLL_MS);
  }

  #onMessage = (event: MessageEvent): void => {
    // Only the server's own pages may nudge us, and only about our session.
    if (!this.#api || event.origin !== new URL(this.#api.server).origin) return;
    this.#onSignal(event.data);
  };

  #onSignal(data: unknown): void {
    const message = data as { source?: unknown; sessionId?: unknown } | null;
    if (!message || message.source !== 'patchbay' || message.sessionId !== this.#sessionId) return;
    void this.#check();
  }

  async #tick(): Promise<void> {
    if (this.#popup && this.#popup.closed) {
      this.#popup = null;
      // The user may have finished just before closing: ask the server once before calling it a cancel.
      const session = await this.#check();
      if (this.#running && session && !['authorized', 'committed', 'configuring'].includes(session.status)) this.#cancel('popup_closed');
      return;
    }
    await this.#check();
  }

  async #check(): Promise<SessionState | null> {
    if (!this.#api || !this.#sessionId || this.#checking) return null;
    this.#checking = true;
    try {
      const session = await this.#api.getSession(this.#sessionId, this.#abort?.signal);
      if (!this.#running) return session;
      if (session.status === 'authorized' || session.status === 'committed') await this.#install();
      else if (session.status === 'cancelled') this.#cancel('access_denied');
      else if (session.status === 'failed') this.#fail(session.error ?? { code: 'authorization_failed', message: 'The sign-in failed.' });
      else if (session.status === 'configuring' && this.store.get().step !== 'configure') {
        this.store.setKey('step', 'configure');
        this.events.step('configure');
      }
      return session;
    } catch (error) {
      if ((error as Error).name !== 'AbortError') this.#fail(toFlowError(error));
      return null;
    } finally {
      this.#checking = false;
    }
  }

  async #install(): Promise<void> {
    const api = this.#api!;
    const sessionId = this.#sessionId!;
    this.#stopListening();
    this.#popup?.close();
    this.#popup = null;
    this.store.setKey('step', 'commit');
    this.events.step('commit');
    const { targetUrl } = await api.commit(sessionId, this.#abort?.signal);
    this.store.setKey('step', 'install');
    this.events.step('install');
    const deadline = Date.now() + INSTALL_TIMEOUT_MS;
    while (this.#running) {
      const install = await api.getInstall(targetUrl, this.#abort?.signal);
      if (install.operationState.status === 'success') {
        this.#running = false;
        this.store.set({ status: 'connected', step: 'done', installId: install.id, error: null });
        this.events.step('done');
        this.events.connected({
          installId: install.id,
          tenantId: install.tenantId,
          integration: install.integrationId,
          ...(this.#connector ? { connector: this.#connector } : {}),
        });
        this.#stop();
        return;
      }
      if (install.operationState.status === 'failed')
        throw new PatchbayApiError(409, 'install_failed', install.operationState.message ?? 'The install failed.');
      if (Date.now() > deadline) throw new PatchbayApiError(0, 'install_timeout', 'The install did not finish in time.');
      await new Promise((resolve) => setTimeout(resolve, INSTALL_POLL_MS));
    }
  }

  #cancel(reason: 'popup_closed' | 'access_denied'): void {
    this.#stop();
    this.store.set({ status: 'cancelled', step: null, installId: null, error: null });
    this.events.cancelled(reason);
  }

  #fail(error: { code: string; message: string }): void {
    this.#stop();
    this.store.set({ status: 'error', step: null, installId: null, error });
    this.events.failed(error);
  }

  #stopListening(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    window.removeEventListener('message', this.#onMessage);
    this.#channel?.close();
    this.#channel = null;
  }

  #stop(): void {
    this.#running = false;
    this.#stopListening();
    this.#abort?.abort();
    this.#abort = null;
  }
}

function toFlowError(error: unknown): { code: string; message: string } {
  if (error instanceof PatchbayApiError) return { code: error.code, message: error.message };
  return { code: 'unexpected_error', message: error instanceof Error ? error.message : 'Unexpected error.' };
}

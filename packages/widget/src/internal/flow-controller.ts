import type { ReactiveController, ReactiveControllerHost } from 'lit';
import type { MapStore } from 'nanostores';
import type { CancelReason, FlowState, FlowStep } from '../state/flow.js';
import { ApiClient, PatchbayApiError, type SessionState } from './api-client.js';
import { cancelReasonOf, EXPIRED, FAILED, liveWindow, sharedInstall, toFlowError, windows } from './flow-shared.js';
import { FlowWindow } from './flow-window.js';
import { sessionIdOf } from './session-token.js';

export interface FlowOptions {
  server: string;
  integration: string;
  token: string;
  /** Extra start parameters: `connector` to choose one, `method` for its auth method, `reauth` to replace a connection's credentials. */
  params?: Record<string, string>;
}

export interface FlowEvents {
  step(step: FlowStep): void;
  connected(detail: { installId: string; tenantId: string; integration: string; connector?: string }): void;
  cancelled(reason: CancelReason): void;
  failed(error: { code: string; message: string }): void;
}

/** Server checks back off from 1 s to 5 s: quick at first, light on a person who takes minutes. */
const POLL_FIRST_MS = 1000;
const POLL_MAX_MS = 5000;
const POLL_GROWTH = 1.5;
/** Reading `popup.closed` costs nothing; it only decides whether Reopen and Cancel are offered. */
const WINDOW_WATCH_MS = 500;
/** Past `expiresAt` by this much with the server still saying "started", the flow ends as expired. */
const EXPIRY_GRACE_MS = 30_000;

/**
 * Runs one install flow for one element. The server's session state is the source of truth:
 * postMessage and BroadcastChannel only make us look sooner, polling always looks eventually, and
 * a window that looks closed is never an outcome (a provider's Cross-Origin-Opener-Policy makes a
 * window the person is typing in look closed). Only the server's `cancelled`, `failed`, `expired`,
 * `authorized` or the person's own Cancel end a flow.
 */
export class FlowController implements ReactiveController {
  #popup: Window | null = null;
  #api: ApiClient | null = null;
  #sessionId: string | null = null;
  #params: Record<string, string> = {};
  #connector: string | undefined;
  #running = false;
  #installing = false;
  #checking = false;
  #cancelling = false;
  #delay = POLL_FIRST_MS;
  #expiresAt = Number.POSITIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #watch: ReturnType<typeof setInterval> | null = null;
  #channel: BroadcastChannel | null = null;
  #abort: AbortController | null = null;
  /** The token `resume()` last looked at, so a re-render does not ask the server again. */
  #resumed: string | null = null;
  /** Sessions known to be expired: a click cannot start them, the host must hand over a new token. */
  #expired = new Set<string>();

  constructor(
    host: ReactiveControllerHost,
    private readonly store: MapStore<FlowState>,
    private readonly events: FlowEvents,
    /** How the sign-in window opens (the element's own, so it can open one before this code loads). */
    readonly window: FlowWindow = new FlowWindow(),
  ) {
    host.addController(this);
  }

  get running(): boolean {
    return this.#running;
  }

  /** The connector of the current or last flow (chosen here, or read from the session on resume). */
  get connector(): string | undefined {
    return this.#connector;
  }

  hostDisconnected(): void {
    // The window stays open and known (windows map): a remount resumes the same flow.
    this.#stop();
    this.#resumed = null;
  }

  /**
   * Starts the flow. Called from the click handler: the window opens before any await, or the
   * browser's popup blocker would stop it. While a flow runs, a click focuses its window, or
   * reopens it when none is known to be open.
   */
  start(options: FlowOptions): void {
    if (this.#running) {
      if (this.#popup && !this.#popup.closed) this.#popup.focus();
      else this.reopen();
      return;
    }
    const sessionId = sessionIdOf(options.token);
    if (!sessionId) return this.#fail({ code: 'invalid_session_token', message: 'This button has no valid session token.' });
    if (this.#expired.has(sessionId)) return this.#fail(EXPIRED);
    const api = new ApiClient(options.server, options.integration, options.token);
    this.#params = options.params ?? {};
    if (!this.#open(api, sessionId)) return;
    this.#begin(api, sessionId, options.params?.['connector']);
  }

  /**
   * Runs the flow in a sign-in window the element opened itself in the click, before this code had
   * loaded (deferred-flow.ts); otherwise as `start()`.
   */
  adopt(options: FlowOptions, popup: Window): void {
    const sessionId = sessionIdOf(options.token);
    if (this.#running || !sessionId || this.#expired.has(sessionId)) {
      if (!this.#running) popup.close();
      return this.start(options);
    }
    this.#params = options.params ?? {};
    this.#adoptWindow(sessionId, popup);
    this.#begin(new ApiClient(options.server, options.integration, options.token), sessionId, options.params?.['connector']);
  }

  /** "Reopen sign-in window": the start URL again, synchronously from the click. */
  reopen(): void {
    if (!this.#running || !this.#api || !this.#sessionId || this.#installing) return;
    this.#popup = null;
    if (!this.#open(this.#api, this.#sessionId)) return;
    this.store.setKey('windowLost', false);
    this.#checkSoon();
  }

  /** "Cancel": cancels the session on the server; the server's answer decides what happened. */
  async cancel(): Promise<void> {
    if (!this.#running || !this.#api || !this.#sessionId || this.#installing || this.#cancelling) return;
    this.#cancelling = true;
    const api = this.#api;
    try {
      await api.cancelSession(this.#sessionId, this.#abort?.signal);
      this.#popup?.close();
      this.#cancel('user');
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      const failure = toFlowError(error);
      // The sign-in finished first (409): the server says authorized, so the flow completes instead.
      if (failure.code === 'session_not_cancellable') await this.#check();
      else if (failure.code === 'session_expired') {
        this.#expired.add(this.#sessionId ?? '');
        this.#cancel('expired');
      } else this.#fail(failure);
    } finally {
      this.#cancelling = false;
    }
  }

  /**
   * Continues wherever the session stands, for an element that just got its token (first render,
   * remount, reload, the return from page mode). Never opens a window.
   */
  async resume(options: FlowOptions): Promise<void> {
    if (!options.token || this.#resumed === options.token) return;
    const sessionId = sessionIdOf(options.token);
    if (this.#running && this.#sessionId === sessionId) return;
    this.#resumed = options.token;
    if (!sessionId) return this.#fail({ code: 'invalid_session_token', message: 'This button has no valid session token.' });
    // Back from page mode: the flow this page started has ended, and its events are due here.
    const url = new URL(window.location.href);
    const returning = url.searchParams.get('session') === sessionId;
    if (returning) {
      url.searchParams.delete('session');
      url.searchParams.delete('status');
      window.history.replaceState(window.history.state, '', url.toString());
    }
    const api = new ApiClient(options.server, options.integration, options.token);
    let session: SessionState;
    try {
      session = await api.getSession(sessionId);
    } catch (error) {
      if (this.#resumed === options.token && !this.#running) this.#fail(toFlowError(error));
      return;
    }
    // A click or a newer token may have moved on while we asked.
    if (this.#resumed !== options.token || this.#running) return;
    this.#params = options.params ?? {};
    const connector = options.params?.['connector'] ?? session.connector ?? undefined;
    switch (session.status) {
      case 'created':
        return;
      case 'started':
      case 'configuring':
      case 'authorized':
      case 'committed':
        this.#begin(api, sessionId, connector);
        this.#popup = liveWindow(sessionId);
        this.store.setKey('windowLost', !this.#popup);
        this.#expiresAt = Date.parse(session.expiresAt);
        await this.#react(session);
        return;
      case 'expired':
        this.#expired.add(sessionId);
        return this.#fail(EXPIRED);
      case 'cancelled':
        if (returning) return this.#cancel(cancelReasonOf(session));
        this.store.set({ status: 'cancelled', step: null, installId: null, error: null, windowLost: false, cancelReason: cancelReasonOf(session) });
        return;
      case 'failed':
        if (returning) return this.#fail(session.error ?? FAILED);
        this.store.set({ status: 'error', step: null, installId: null, error: session.error ?? FAILED, windowLost: false, cancelReason: null });
        return;
    }
  }

  /** Opens the sign-in window, or navigates in page mode when it is blocked. False when navigating. */
  #open(api: ApiClient, sessionId: string): boolean {
    const popup = this.window.open(api, sessionId, this.#params);
    if (!popup) {
      // Blocked: the same flow as a full-page redirect, resumed by `resume()` on return.
      this.#stop();
      this.store.set({ ...this.store.get(), status: 'connecting', step: 'authorize', error: null, windowLost: false });
      return false;
    }
    this.#adoptWindow(sessionId, popup);
    return true;
  }

  #adoptWindow(sessionId: string, popup: Window): void {
    this.#popup = popup;
    windows.set(sessionId, popup);
  }

  #begin(api: ApiClient, sessionId: string, connector?: string): void {
    this.#api = api;
    this.#connector = connector;
    this.#sessionId = sessionId;
    this.#running = true;
    this.#installing = false;
    this.#expiresAt = Number.POSITIVE_INFINITY;
    this.#abort = new AbortController();
    this.store.set({ status: 'connecting', step: 'authorize', installId: null, error: null, windowLost: false, cancelReason: null });
    this.events.step('authorize');
    window.addEventListener('message', this.#onMessage);
    if ('BroadcastChannel' in window) {
      this.#channel = new BroadcastChannel('patchbay');
      this.#channel.onmessage = (event: MessageEvent) => this.#onSignal(event.data);
    }
    this.#watch = setInterval(this.#watchWindow, WINDOW_WATCH_MS);
    this.#checkSoon();
  }

  #watchWindow = (): void => {
    if (this.#popup?.closed) {
      this.#popup = null;
      if (this.#sessionId) windows.delete(this.#sessionId);
    }
    if (!this.#popup && this.#running && !this.#installing && !this.store.get().windowLost) this.store.setKey('windowLost', true);
  };

  #onMessage = (event: MessageEvent): void => {
    // Only the server's own pages may nudge us, and only about our session.
    if (!this.#api || event.origin !== new URL(this.#api.server).origin) return;
    this.#onSignal(event.data);
  };

  #onSignal(data: unknown): void {
    const message = data as { source?: unknown; sessionId?: unknown } | null;
    if (!message || message.source !== 'patchbay' || message.sessionId !== this.#sessionId) return;
    this.#checkSoon(0);
  }

  /** (Re)starts the back-off: the next server check after `delay`, then growing to POLL_MAX_MS. */
  #checkSoon(delay = POLL_FIRST_MS): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#delay = POLL_FIRST_MS;
    this.#timer = setTimeout(this.#poll, delay);
  }

  #poll = async (): Promise<void> => {
    this.#timer = null;
    await this.#check();
    if (!this.#running || this.#installing || this.#timer) return;
    if (Date.now() > this.#expiresAt + EXPIRY_GRACE_MS) return this.#cancel('expired');
    this.#delay = Math.min(POLL_MAX_MS, this.#delay * POLL_GROWTH);
    this.#timer = setTimeout(this.#poll, this.#delay);
  };

  async #check(): Promise<void> {
    if (!this.#api || !this.#sessionId || this.#checking || this.#installing) return;
    this.#checking = true;
    try {
      const session = await this.#api.getSession(this.#sessionId, this.#abort?.signal);
      if (!this.#running) return;
      this.#expiresAt = Date.parse(session.expiresAt);
      await this.#react(session);
    } catch (error) {
      if ((error as Error).name === 'AbortError') return;
      // A blip while the person signs in is no outcome: keep checking. Refusals (4xx) end the flow.
      if (error instanceof PatchbayApiError && (error.status === 0 || error.status >= 500)) return;
      this.#fail(toFlowError(error));
    } finally {
      this.#checking = false;
    }
  }

  async #react(session: SessionState): Promise<void> {
    switch (session.status) {
      case 'authorized':
      case 'committed':
        return this.#install();
      case 'cancelled':
        return this.#cancel(cancelReasonOf(session));
      case 'failed':
        return this.#fail(session.error ?? FAILED);
      case 'expired':
        this.#expired.add(session.id);
        return this.#cancel('expired');
      case 'configuring':
        if (this.store.get().step !== 'configure') {
          this.store.setKey('step', 'configure');
          this.events.step('configure');
        }
        return;
      default:
        return;
    }
  }

  async #install(): Promise<void> {
    const api = this.#api!;
    const sessionId = this.#sessionId!;
    this.#installing = true;
    this.#stopListening();
    this.#popup?.close();
    this.#popup = null;
    windows.delete(sessionId);
    this.store.set({ ...this.store.get(), step: 'commit', windowLost: false });
    this.events.step('commit');
    const shared = sharedInstall(api, sessionId);
    try {
      await shared.committed;
      if (!this.#running || this.#sessionId !== sessionId) return;
      this.store.setKey('step', 'install');
      this.events.step('install');
      const install = await shared.installed;
      if (!this.#running || this.#sessionId !== sessionId) return;
      this.#running = false;
      this.store.set({ status: 'connected', step: 'done', installId: install.id, error: null, windowLost: false, cancelReason: null });
      this.events.step('done');
      this.events.connected({
        installId: install.id,
        tenantId: install.tenantId,
        integration: install.integrationId,
        ...(this.#connector ? { connector: this.#connector } : {}),
      });
      this.#stop();
    } catch (error) {
      if (this.#running && this.#sessionId === sessionId) this.#fail(toFlowError(error));
    }
  }

  #cancel(reason: CancelReason): void {
    if (!this.#running && this.store.get().status === 'cancelled') return;
    this.#stop();
    this.store.set({ status: 'cancelled', step: null, installId: null, error: null, windowLost: false, cancelReason: reason });
    this.events.cancelled(reason);
  }

  #fail(error: { code: string; message: string }): void {
    this.#stop();
    this.store.set({ status: 'error', step: null, installId: null, error, windowLost: false, cancelReason: null });
    this.events.failed(error);
  }

  #stopListening(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#watch) clearInterval(this.#watch);
    this.#watch = null;
    window.removeEventListener('message', this.#onMessage);
    this.#channel?.close();
    this.#channel = null;
  }

  #stop(): void {
    this.#running = false;
    this.#installing = false;
    this.#stopListening();
    this.#abort?.abort();
    this.#abort = null;
  }
}

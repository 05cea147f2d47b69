import { nothing, type ReactiveController } from 'lit';
import type { FlowState } from '../state/flow.js';
import { ApiClient } from './api-client.js';
import { type ConnectHost, sessionOf } from './connect-host.js';
import type { FlowRunner, FlowRunnerOptions } from './flow-runner.js';
import { FlowWindow } from './flow-window.js';
import { sessionIdOf } from './session-token.js';
import '../events/patchbay-error.js';

/** The flow's code (the runner, its controller and store): loaded once per page, on first use. */
let flowCode: Promise<typeof import('./flow-runner.js')> | null = null;
const loadFlowCode = () => (flowCode ??= import('./flow-runner.js'));

/** Not `initialFlowState`: its module brings the store along, which is what this leaves for later. */
const IDLE: FlowState = { status: 'idle', step: null, installId: null, error: null };
const CONNECTING: FlowState = { status: 'connecting', step: 'authorize', installId: null, error: null, windowLost: false };

/**
 * `<connect-button>`'s FlowRunner, loaded when the flow is first needed, so a page whose button is
 * never clicked does not download the flow: on the click, or on load when the session has a flow to
 * resume. The click stays synchronous where it must: the sign-in window opens (or the page-mode
 * redirect starts) inside it, as popup blockers demand, and the flow takes that window over once its
 * code is in. On load, a session not started yet (the usual case) has nothing to resume, which one
 * read of the session tells; anything else (a flow under way, the return from page mode, an ended
 * session, a failure) loads the flow, which resumes and reports it as it always does.
 */
export class DeferredFlow implements ReactiveController {
  /** How the sign-in window opens; the flow uses the same one (tests override it). */
  readonly window = new FlowWindow();
  #runner: FlowRunner | null = null;
  #loading: Promise<FlowRunner | null> | null = null;
  /** Between the click and the flow's code running: what the element shows, and the window it opened. */
  #opening: { state: FlowState; popup: Window | null } | null = null;
  /** The token last looked at on load, and the one the last update saw (as FlowRunner keeps them). */
  #peeked: string | null = null;
  #seenToken: string | undefined;

  constructor(
    private readonly host: ConnectHost,
    private readonly options: FlowRunnerOptions,
  ) {
    host.addController(this);
  }

  /** The flow's state (idle until a flow starts). */
  get state(): FlowState {
    return this.#opening?.state ?? this.#runner?.state ?? IDLE;
  }

  /** Settles once the flow's code, when asked for, has loaded and taken over. */
  get loaded(): Promise<unknown> {
    return this.#loading ?? Promise.resolve();
  }

  hostConnected(): void {
    if (!this.#runner) queueMicrotask(() => void this.#peek());
  }

  hostUpdated(): void {
    if (this.#runner || this.host.sessionToken === this.#seenToken) return;
    this.#seenToken = this.host.sessionToken;
    queueMicrotask(() => void this.#peek());
  }

  hostDisconnected(): void {
    this.#peeked = null;
  }

  async #peek(): Promise<void> {
    const { server, integration, token } = sessionOf(this.host);
    if (this.#runner || !token || !integration || !this.host.isConnected || this.#peeked === token) return;
    this.#peeked = token;
    const sessionId = sessionIdOf(token);
    // Back from page mode: the flow strips the URL and reports how it ended.
    const returning = sessionId !== null && new URL(window.location.href).searchParams.get('session') === sessionId;
    if (sessionId && !returning) {
      const session = await new ApiClient(server, integration, token).getSession(sessionId).catch(() => null);
      if (session?.status === 'created' || this.#peeked !== token) return;
    }
    await this.#load();
  }

  /** `resumed`: the token whose session was found with nothing to resume (the runner does not read it again). */
  #load(resumed?: string): Promise<FlowRunner | null> {
    this.#loading ??= loadFlowCode().then(
      ({ FlowRunner }) => {
        // Added to the host, it resumes the session's flow by itself, unless it was found with nothing to resume.
        this.#runner = new FlowRunner(this.host, { ...this.options, window: this.window, ...(resumed ? { resumed } : {}) });
        this.host.requestUpdate();
        return this.#runner;
      },
      () => {
        // The flow's code could not be fetched: the click failed as a request that cannot reach the server does.
        flowCode = null;
        this.#loading = null;
        this.#opening?.popup?.close();
        const error = { code: 'network_error', message: 'The Patchbay server could not be reached.' };
        this.#opening = { state: { ...IDLE, status: 'error', error }, popup: null };
        this.host.emit('patchbay-error', error);
        this.host.requestUpdate();
        return null;
      },
    );
    return this.#loading;
  }

  /** Runs the flow for the element's session (as FlowRunner.start). Call it from the click. */
  start(params?: Record<string, string>): void {
    if (this.#runner) return this.#runner.start(params);
    const opening = this.#opening;
    // A second click while the flow's code loads: the window is there already.
    if (opening?.state.status === 'connecting') return void opening.popup?.focus();
    const { server, integration, token } = sessionOf(this.host);
    const sessionId = sessionIdOf(token);
    // A token that is no session's: the flow refuses it and says so.
    if (!sessionId) return void this.#load().then((runner) => runner?.start(params));
    const popup = this.window.open(new ApiClient(server, integration, token), sessionId, params ?? {});
    this.#opening = { state: CONNECTING, popup };
    this.host.requestUpdate();
    // Blocked: the page is on its way to the sign-in (page mode); the return resumes the flow.
    if (!popup) return;
    void this.#load(this.#peeked === token ? token : undefined).then((runner) => {
      if (!runner) return;
      this.#opening = null;
      runner.adopt(popup, params);
    });
  }

  /** True, showing `session_used`, when this token's session already made its connection (see FlowRunner). */
  refuseUsedSession(): boolean {
    return this.#runner?.refuseUsedSession() ?? false;
  }

  /** Back to idle (the connection a flow made here was disconnected). */
  reset(): void {
    this.#runner?.reset();
  }

  /** Reopen sign-in window and Cancel, while the flow waits with no window known to be open. */
  renderChoices() {
    return this.#runner?.renderChoices() ?? nothing;
  }
}

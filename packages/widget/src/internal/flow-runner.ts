import type { ReactiveController } from 'lit';
import { createFlowStore, type FlowState, initialFlowState } from '../state/flow.js';
import { type ConnectHost, reportLoadError, sessionOf } from './connect-host.js';
import { renderFlowChoices } from './flow-choices.js';
import { FlowController } from './flow-controller.js';
import type { FlowWindow } from './flow-window.js';
import { StoreController } from './store-controller.js';
import '../events/patchbay-cancel.js';
import '../events/patchbay-connected.js';
import '../events/patchbay-error.js';
import '../events/patchbay-step.js';

export interface FlowRunnerOptions {
  /** After `patchbay-connected`: the element reads the tenant's state again, which now has the new connection. */
  connected(): void;
  /** Where the keyboard goes back when a flow ends (the element's own button). */
  focusTarget(): HTMLElement | null | undefined;
  /** How the sign-in window opens, when the element keeps its own (see deferred-flow.ts). */
  window?: FlowWindow;
  /** A token whose session the element already found with nothing to resume, before this code loaded. */
  resumed?: string;
}

/**
 * The one way an element runs Patchbay's flow: its own flow store (two elements on a page never
 * share a flow), the FlowController, the `patchbay-step`/`-connected`/`-cancel`/`-error` events,
 * focus back on the element's button when a flow ends, and resuming whatever flow the session has
 * going when the element connects or gets a new token (remount, reload, back from page mode).
 */
export class FlowRunner implements ReactiveController {
  readonly #store = createFlowStore();
  readonly #state: StoreController<FlowState>;
  readonly flow: FlowController;
  /** The token whose session made its connection: a session is good for one. */
  #spentToken = '';
  /** The token the last update saw, so a new one resumes its session's flow. */
  #seenToken: string | undefined;
  /** How many resume() calls are reading the session (a repeated call for the same token returns at once). */
  #resuming = 0;
  /** `options.resumed`, for the first connect only. */
  #alreadyResumed: string | undefined;

  constructor(
    private readonly host: ConnectHost,
    private readonly options: FlowRunnerOptions,
  ) {
    this.#alreadyResumed = options.resumed;
    host.addController(this);
    this.#state = new StoreController<FlowState>(host, this.#store);
    this.flow = new FlowController(
      host,
      this.#store,
      {
        step: (step) => host.emit('patchbay-step', { step }),
        connected: (detail) => {
          this.#spentToken = host.sessionToken;
          host.emit('patchbay-connected', detail);
          options.connected();
          this.#returnFocus();
        },
        cancelled: (reason) => {
          host.emit('patchbay-cancel', { reason });
          this.#returnFocus();
        },
        failed: (error) => {
          if (this.#resuming > 0) reportLoadError(host, error, 'resume');
          else host.emit('patchbay-error', error);
          this.#returnFocus();
        },
      },
      options.window,
    );
  }

  /** The flow's state (the element re-renders when it changes). */
  get state(): FlowState {
    return this.#state.value;
  }

  hostConnected(): void {
    const resumed = this.#alreadyResumed;
    this.#alreadyResumed = undefined;
    if (resumed && resumed === this.host.sessionToken) {
      this.#seenToken = resumed;
      return;
    }
    queueMicrotask(() => this.#resume());
  }

  hostUpdated(): void {
    if (this.host.sessionToken === this.#seenToken) return;
    this.#seenToken = this.host.sessionToken;
    // After this update, not inside it: resuming may change the flow's state (Lit's change-in-update).
    queueMicrotask(() => this.#resume());
  }

  /** Continues wherever the session stands (its failures are load failures); never opens a window. */
  #resume(): void {
    if (!this.host.sessionToken || !this.host.integration || !this.host.isConnected) return;
    this.#resuming += 1;
    void this.flow.resume(sessionOf(this.host)).finally(() => (this.#resuming -= 1));
  }

  /** Only when the keyboard was in the element (or nowhere): a flow ending never steals focus from the page. */
  #returnFocus(): void {
    if (document.activeElement === this.host || this.host.matches(':focus-within') || document.activeElement === document.body)
      this.options.focusTarget()?.focus();
  }

  /** Runs the flow for the element's session. Call it from a user gesture, or the popup will be blocked. */
  start(params?: Record<string, string>): void {
    this.flow.start({ ...sessionOf(this.host), ...(params ? { params } : {}) });
  }

  /** Runs the flow in the sign-in window the element opened in the click before this code loaded. */
  adopt(popup: Window, params?: Record<string, string>): void {
    this.flow.adopt({ ...sessionOf(this.host), ...(params ? { params } : {}) }, popup);
  }

  /** True, showing `session_used`, when this token's session already made its connection. */
  refuseUsedSession(): boolean {
    if (!this.#spentToken || this.#spentToken !== this.host.sessionToken) return false;
    this.#store.set({
      status: 'error',
      step: null,
      installId: null,
      error: { code: 'session_used', message: this.host.i18n.text('picker.status.sessionUsed') },
    });
    return true;
  }

  /** Back to idle (the connection a flow made here was disconnected). */
  reset(): void {
    this.#store.set(initialFlowState);
  }

  /** Reopen sign-in window and Cancel, while the flow waits with no window known to be open. */
  renderChoices() {
    return renderFlowChoices(this.flow, this.host.i18n);
  }
}

import { html, nothing } from 'lit';
import { property, query } from 'lit/decorators.js';
import { renderFlowChoices } from '../../internal/flow-choices.js';
import { FlowController } from '../../internal/flow-controller.js';
import { PatchbayElement } from '../../internal/patchbay-element.js';
import { StoreController } from '../../internal/store-controller.js';
import type { TranslationKey } from '../../i18n/index.js';
import { LocaleController } from '../../internal/locale-controller.js';
import { createFlowStore, type FlowState } from '../../state/flow.js';
import styles from './connect-button.styles.js';
import '../../events/patchbay-cancel.js';
import '../../events/patchbay-connected.js';
import '../../events/patchbay-error.js';
import '../../events/patchbay-step.js';

/**
 * @summary One button that runs the whole Patchbay flow: authorize in a popup (or a full-page
 * redirect when popups are blocked), commit, and wait for the install.
 *
 * With a session token it asks the server where that session stands and continues from there
 * (after a remount, a reload or the return from page mode): an authorized session is installed
 * without another click. A sign-in window that looks closed is not a cancel: while the server
 * still waits for the person, the status area offers Reopen sign-in window and Cancel.
 *
 * @event patchbay-connected - The install is ready: `{ installId, tenantId, integration }`.
 * @event patchbay-cancel - The flow was really cancelled, once: `{ reason }` is `user` (chose Cancel), `access_denied` (declined at the provider) or `expired`.
 * @event patchbay-error - The flow failed: `{ code, message }`.
 * @event patchbay-step - The flow moved on: `{ step }`.
 *
 * @slot - A custom label for the idle state.
 *
 * @csspart base - The native button.
 * @csspart label - The button's text.
 * @csspart spinner - The busy indicator while connecting.
 * @csspart check - The check mark once connected.
 * @csspart status - The status line under the button (a polite live region).
 * @csspart choices - While waiting with no sign-in window known to be open: the group of the two choices below.
 * @csspart reopen - The "Reopen sign-in window" button.
 * @csspart cancel - The "Cancel" button: cancels the session on the server too.
 *
 * @cssproperty --patchbay-connect-button-color - Button colour; falls back to --patchbay-color-primary.
 * @cssproperty --patchbay-connect-button-text-color - Label colour on the button.
 * @cssproperty --patchbay-connect-button-radius - Corner radius; falls back to --patchbay-radius.
 * @cssproperty --patchbay-connect-button-padding - Inner spacing.
 */
export class ConnectButton extends PatchbayElement {
  static override styles = styles;

  readonly #flow = createFlowStore();
  readonly #state = new StoreController<FlowState>(this, this.#flow);
  readonly i18n = new LocaleController(this);
  readonly flow = new FlowController(this, this.#flow, {
    step: (step) => this.emit('patchbay-step', { step }),
    connected: (detail) => {
      this.emit('patchbay-connected', detail);
      this.#returnFocus();
    },
    cancelled: (reason) => {
      this.emit('patchbay-cancel', { reason });
      this.#returnFocus();
    },
    failed: (error) => {
      this.emit('patchbay-error', error);
      this.#returnFocus();
    },
  });

  @query('[part~="base"]') private button!: HTMLButtonElement;

  /** The integration id, as in `{server}/v1/integrations/{integration}`. */
  @property() integration = '';

  /** The session token the host's backend got from `POST …/session` (never an access key). */
  @property({ attribute: 'session-token' }) sessionToken = '';

  /** The Patchbay server's origin; defaults to this page's origin. */
  @property() server = '';

  /** Set when the tenant's connection must be authorized again: shows "Reconnect". */
  @property({ type: Boolean, reflect: true }) reauth = false;

  /** The flow's state: idle, connecting, connected, needs-reauth, cancelled or error. */
  get status(): FlowState['status'] {
    const { status } = this.#state.value;
    return status === 'idle' && this.reauth ? 'needs-reauth' : status;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    queueMicrotask(() => this.#resume());
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    // After this update, not inside it: resuming may change the flow's state (Lit's change-in-update).
    if (changed.has('sessionToken')) queueMicrotask(() => this.#resume());
    this.dataset.status = this.status;
  }

  #options() {
    return { server: this.server || window.location.origin, integration: this.integration, token: this.sessionToken };
  }

  /** Continues wherever the session stands (remount, reload, back from page mode); never opens a window. */
  #resume(): void {
    if (this.sessionToken && this.integration && this.isConnected) void this.flow.resume(this.#options());
  }

  #returnFocus(): void {
    if (document.activeElement === this || this.matches(':focus-within') || document.activeElement === document.body) this.button?.focus();
  }

  #onClick(): void {
    if (this.status === 'connected') return;
    this.start();
  }

  /** Runs the flow, as a click does. Call it from a user gesture, or the popup will be blocked. */
  start(): void {
    this.flow.start(this.#options());
  }

  override render() {
    const status = this.status;
    const { error, windowLost, cancelReason } = this.#state.value;
    const labels: Record<typeof status, TranslationKey> = {
      idle: 'connect.label',
      connecting: 'connect.connecting',
      connected: 'connect.connected',
      'needs-reauth': 'connect.reconnect',
      cancelled: 'connect.label',
      error: 'connect.retry',
    };
    const statusText: Record<typeof status, string> = {
      idle: '',
      connecting: this.i18n.text(windowLost ? 'connect.status.windowLost' : 'connect.status.connecting'),
      connected: this.i18n.text('connect.status.connected'),
      'needs-reauth': this.i18n.text('connect.status.needsReauth'),
      cancelled: this.i18n.text(cancelReason === 'expired' ? 'connect.status.expired' : 'connect.status.cancelled'),
      error: this.i18n.text('connect.status.error', { message: this.i18n.error(error) }),
    };
    const busy = status === 'connecting';
    return html`
      <button
        part="base"
        class="button"
        type="button"
        aria-busy=${busy ? 'true' : 'false'}
        aria-disabled=${busy || status === 'connected' ? 'true' : 'false'}
        aria-describedby="status"
        @click=${this.#onClick}
      >
        ${busy ? html`<span part="spinner" class="spinner" aria-hidden="true"></span>` : nothing}
        ${
          status === 'connected'
            ? html`<svg part="check" viewBox="0 0 16 16" aria-hidden="true"><path d="M3 8.5l3.2 3L13 4.5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" /></svg>`
            : nothing
        }
        <span part="label">${status === 'idle' ? html`<slot>${this.i18n.text(labels[status])}</slot>` : this.i18n.text(labels[status])}</span>
      </button>
      <span id="status" part="status" role="status" aria-live="polite">${statusText[status]}</span>
      ${busy && windowLost ? renderFlowChoices(this.flow, this.i18n) : nothing}
    `;
  }
}

import { adoptStyles, html, nothing } from 'lit';
import { property, query } from 'lit/decorators.js';
import type { ConnectionsManager } from '../../internal/connections-manager.js';
import { DeferredFlow } from '../../internal/deferred-flow.js';
import { PatchbayElement } from '../../internal/patchbay-element.js';
import type { TranslationKey } from '../../i18n/index.js';
import { LocaleController } from '../../internal/locale-controller.js';
import { TenantStateController } from '../../internal/tenant-state.js';
import type { FlowState } from '../../state/flow.js';
import styles from './connect-button.styles.js';
import '../../events/patchbay-disconnected.js';

/** What the button shows: the flow's state, or the tenant's when no flow runs (`expiring` offers a reconnect). */
export type ConnectButtonStatus = FlowState['status'] | 'expiring';

/**
 * @summary One button that runs the whole Patchbay flow: authorize in a popup (or a full-page
 * redirect when popups are blocked), commit, and wait for the install.
 *
 * With a session token it asks the server where that session stands and continues from there
 * (after a remount, a reload or the return from page mode): an authorized session is installed
 * without another click. A sign-in window that looks closed is not a cancel: while the server
 * still waits for the person, the status area offers Reopen sign-in window and Cancel.
 *
 * It also shows the tenant's current state for the integration as soon as it renders (from the
 * server, as `<connector-picker>` does): Connect; Connected as the connection's label; Reconnect
 * when the connection needs re-authorizing; Reconnect with "expires soon" when its credentials
 * will need the person within the server's `PATCHBAY_EXPIRING_SOON_DAYS`.
 * With `manage`, it also lists the tenant's connections with Reconnect and Disconnect.
 *
 * @event patchbay-connected - The install is ready: `{ installId, tenantId, integration }`.
 * @event patchbay-disconnected - The tenant disconnected a connection (revoked on the server): `{ connectionId, connector, integration }`.
 * @event patchbay-cancel - The flow was really cancelled, once: `{ reason }` is `user` (chose Cancel), `access_denied` (declined at the provider) or `expired`.
 * @event patchbay-error - The flow, loading the tenant's state (e.g. `session_expired`, `invalid_session_token`) or a disconnect failed: `{ code, message }`.
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
 * @csspart connections - With `manage`: the list of the tenant's connections.
 * @csspart connection - One connection (`data-state`: active, expiring or needs_reauth).
 * @csspart connection-name - A connection's app and label.
 * @csspart connection-state - A connection's state: Connected, Expires soon or Needs re-auth.
 * @csspart connection-date - When it was connected (and when it expires).
 * @csspart reconnect - Re-authorizes that connection.
 * @csspart disconnect - Asks to disconnect that connection.
 * @csspart confirm - The inline confirmation that replaces the actions (Escape cancels).
 * @csspart confirm-disconnect - Disconnects for good.
 * @csspart confirm-cancel - Keeps the connection.
 *
 * @cssproperty --patchbay-connect-button-color - Button colour; falls back to --patchbay-color-primary.
 * @cssproperty --patchbay-connect-button-text-color - Label colour on the button.
 * @cssproperty --patchbay-connect-button-radius - Corner radius; falls back to --patchbay-radius.
 * @cssproperty --patchbay-connect-button-padding - Inner spacing.
 */
export class ConnectButton extends PatchbayElement {
  static override styles = styles;

  readonly i18n = new LocaleController(this);
  /** The flow: its code loads on the first click, or on load when the session has a flow to resume. */
  readonly #run = new DeferredFlow(this, {
    // The server now knows the new connection (and its label).
    connected: () => void this.tenant.refresh(),
    focusTarget: () => this.button,
  });
  /** How the flow opens its sign-in window (`openWindow`, `navigate`: tests and stories observe them). */
  readonly flow = this.#run.window;

  /** The tenant's state for this integration, from the server (shared with `<connector-picker>`). */
  readonly tenant = new TenantStateController(this, { requireToken: false });
  /** With `manage`: the list of the tenant's connections (its code loads when `manage` is first set). */
  manager: ConnectionsManager | null = null;
  #managerLoading: Promise<unknown> | null = null;

  #loadManager(): void {
    this.#managerLoading ??= Promise.all([import('../../internal/connections-manager.js'), import('../../internal/connections-manager.styles.js')]).then(
      ([{ ConnectionsManager }, { connectionsStyles }]) => {
        // The list's styles join the element's own (adopted when it first rendered).
        adoptStyles(this.renderRoot as ShadowRoot, [...ConnectButton.elementStyles, connectionsStyles]);
        this.manager = new ConnectionsManager(this, this.tenant, {
          reconnect: (_connector, connection) => this.#reconnect(connection.id),
          disconnected: (detail) => {
            // A connection made in this page is gone too: the button shows the tenant's state again.
            if (this.#run.state.status === 'connected') this.#run.reset();
            this.emit('patchbay-disconnected', detail);
            this.button?.focus();
          },
        });
        this.requestUpdate();
      },
    );
  }

  @query('[part~="base"]') private button!: HTMLButtonElement;

  /** The integration id, as in `{server}/v1/integrations/{integration}`. */
  @property() integration = '';

  /** The session token the host's backend got from `POST …/session` (never an access key). */
  @property({ attribute: 'session-token' }) sessionToken = '';

  /** The Patchbay server's origin; defaults to this page's origin. */
  @property() server = '';

  /** Forces "Reconnect" whatever the server says (the tenant's state is otherwise read on load). */
  @property({ type: Boolean, reflect: true }) reauth = false;

  /** Also list the tenant's connections for this integration, with Reconnect and Disconnect. */
  @property({ type: Boolean, reflect: true }) manage = false;

  /**
   * What the button shows: the flow's state while one runs or after it ended, else the tenant's:
   * idle (not connected), connected, expiring, needs-reauth, or error when the state could not be read.
   */
  get status(): ConnectButtonStatus {
    const { status } = this.#run.state;
    if (status !== 'idle') return status;
    if (this.reauth) return 'needs-reauth';
    if (this.tenant.error) return 'error';
    const state = this.tenant.summary?.state;
    return state === 'connected' ? 'connected' : state === 'expiring' ? 'expiring' : state === 'needs_reauth' ? 'needs-reauth' : 'idle';
  }

  /** Also waits for what loads on demand (the flow after a click, the `manage` list) to be in and rendered. */
  protected override async getUpdateComplete(): Promise<boolean> {
    await Promise.all([super.getUpdateComplete(), this.#run.loaded, this.#managerLoading]);
    return super.getUpdateComplete();
  }

  override willUpdate(): void {
    if (this.manage) this.#loadManager();
  }

  override updated(): void {
    this.dataset.status = this.status;
  }

  #onClick(): void {
    const status = this.status;
    if (status === 'connected') return;
    // The state could not be read (an expired session, the server down): reading again is the retry.
    if (status === 'error' && this.#run.state.status === 'idle') {
      void this.tenant.refresh();
      return;
    }
    // What the tenant's connection needs decides, also after a cancelled or failed attempt at it.
    const summary = this.tenant.summary;
    const renew = this.reauth || summary?.state === 'needs_reauth' || summary?.state === 'expiring';
    if (renew && summary?.connection) this.#reconnect(summary.connection.id);
    else this.start();
  }

  /** Re-authorizes one of the tenant's connections: its credentials are replaced in place. */
  #reconnect(connectionId: string): void {
    if (!this.#run.refuseUsedSession()) this.#run.start({ reauth: connectionId });
  }

  /** Runs the flow, as a click does. Call it from a user gesture, or the popup will be blocked. */
  start(): void {
    this.#run.start();
  }

  /** Reads the tenant's state from the server again (for example after it changed elsewhere). */
  refresh(): Promise<unknown> {
    return this.tenant.refresh();
  }

  #label(status: ConnectButtonStatus): string {
    const labels: Record<ConnectButtonStatus, TranslationKey> = {
      idle: 'connect.label',
      connecting: 'connect.connecting',
      connected: 'connect.connected',
      'needs-reauth': 'connect.reconnect',
      expiring: 'connect.reconnect',
      cancelled: 'connect.label',
      error: 'connect.retry',
    };
    const label = status === 'connected' ? this.tenant.summary?.connection?.label : null;
    return label ? this.i18n.text('connect.connectedAs', { label }) : this.i18n.text(labels[status]);
  }

  #expiryDate(): string {
    const expiresAt = this.tenant.summary?.connection?.expiresAt;
    if (!expiresAt) return '';
    try {
      return new Intl.DateTimeFormat(this.i18n.locale, { dateStyle: 'medium' }).format(new Date(expiresAt));
    } catch {
      return new Date(expiresAt).toLocaleDateString();
    }
  }

  override render() {
    const status = this.status;
    const { windowLost, cancelReason } = this.#run.state;
    const error = this.#run.state.error ?? this.tenant.error;
    const statusText: Record<ConnectButtonStatus, string> = {
      idle: '',
      connecting: this.i18n.text(windowLost ? 'connect.status.windowLost' : 'connect.status.connecting'),
      connected: this.i18n.text('connect.status.connected'),
      'needs-reauth': this.i18n.text('connect.status.needsReauth'),
      expiring: this.i18n.text('connect.status.expiring', { date: this.#expiryDate() }),
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
        <span part="label">${status === 'idle' ? html`<slot>${this.#label(status)}</slot>` : this.#label(status)}</span>
      </button>
      <span id="status" part="status" role="status" aria-live="polite">${statusText[status]}</span>
      ${busy && windowLost ? this.#run.renderChoices() : nothing}
      ${this.manage && this.manager ? this.manager.render(busy) : nothing}
    `;
  }
}

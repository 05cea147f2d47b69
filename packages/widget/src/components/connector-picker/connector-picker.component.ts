import { html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { PatchbayApiError, type SessionConnector } from '../../internal/api-client.js';
import { ConnectionsManager } from '../../internal/connections-manager.js';
import { connectionsStyles } from '../../internal/connections-manager.styles.js';
import { renderFlowChoices } from '../../internal/flow-choices.js';
import { FlowController } from '../../internal/flow-controller.js';
import { PatchbayElement } from '../../internal/patchbay-element.js';
import { StoreController } from '../../internal/store-controller.js';
import { TenantStateController } from '../../internal/tenant-state.js';
import { LocaleController } from '../../internal/locale-controller.js';
import { createFlowStore, type FlowState } from '../../state/flow.js';
import { choiceFor, type ConnectorChoice, fold, LISTBOX_MOVES, reauthTargetOf, renderOption } from './connector-picker.option.js';
import styles from './connector-picker.styles.js';
import '../../events/patchbay-cancel.js';
import '../../events/patchbay-connected.js';
import '../../events/patchbay-disconnected.js';
import '../../events/patchbay-error.js';
import '../../events/patchbay-request-connect.js';
import '../../events/patchbay-step.js';

export type { ConnectorChoice } from './connector-picker.option.js';

/**
 * The popover's positioning (@floating-ui/dom) is loaded on the first open, so pages that never
 * open the picker never pay for it and the script-tag bundle stays in its size budget.
 */
let positioning: Promise<typeof import('../../internal/popover-position.js')> | null = null;
const loadPositioning = () => (positioning ??= import('../../internal/popover-position.js'));

/**
 * @summary A searchable catalog of the connectors a session allows, in a popover. Choosing one
 * runs the same flow as `<connect-button>`: Connect, + Add connection, or Reconnect when the
 * tenant's connection needs re-authorizing or expires soon. Under the trigger it lists the
 * tenant's connections for the integration (label, state, when connected) with Reconnect and
 * Disconnect; the state comes from the same place as `<connect-button>`'s, so the two agree.
 *
 * A session is good for one connection: after `patchbay-connected`, give the picker a new
 * `session-token` (from your backend) to let the tenant connect another app. Like
 * `<connect-button>`, it resumes a session's flow wherever it stands (remount, reload), and offers
 * Reopen sign-in window and Cancel when the sign-in window looks closed.
 *
 * @event patchbay-request-connect - Cancelable: the user chose `{ connector, choice, connectionId }`; call `preventDefault()` to stop the flow.
 * @event patchbay-connected - The install is ready: `{ installId, tenantId, integration, connector }`.
 * @event patchbay-disconnected - The tenant disconnected a connection (revoked on the server): `{ connectionId, connector, integration }`.
 * @event patchbay-cancel - The flow was really cancelled, once: `{ reason }` is `user` (chose Cancel), `access_denied` (declined at the provider) or `expired`.
 * @event patchbay-error - Loading the catalog (e.g. `session_expired`, `invalid_session_token`), the flow or a disconnect failed: `{ code, message }`.
 * @event patchbay-step - The flow moved on: `{ step }`.
 *
 * @slot - A custom label for the trigger button.
 *
 * @csspart base - The wrapper around the trigger and the popover.
 * @csspart trigger - The button that opens the popover.
 * @csspart popover - The floating panel.
 * @csspart search - The search field.
 * @csspart listbox - The list of connectors.
 * @csspart option - One connector (also `option-active` when it has the keyboard focus).
 * @csspart icon - A connector's icon.
 * @csspart name - A connector's name.
 * @csspart description - A connector's description and domain.
 * @csspart state - A connector's state for this tenant: Connected, Expires soon or Needs re-auth.
 * @csspart action - What choosing does: Connect, + Add connection or Reconnect.
 * @csspart message - Loading, empty, no-match and error messages.
 * @csspart retry - The retry button after a failed load.
 * @csspart status - The status line (a polite live region).
 * @csspart choices - While waiting with no sign-in window known to be open: the group of the two choices below.
 * @csspart reopen - The "Reopen sign-in window" button.
 * @csspart cancel - The "Cancel" button: cancels the session on the server too.
 * @csspart connections - The list of the tenant's connections, under the trigger.
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
 * @cssproperty --patchbay-connector-picker-width - The popover's width.
 * @cssproperty --patchbay-connector-picker-max-height - The popover's tallest height before it scrolls.
 * @cssproperty --patchbay-connector-picker-background - The popover's background; falls back to --patchbay-color-surface.
 * @cssproperty --patchbay-connector-picker-radius - Corner radius; falls back to --patchbay-radius.
 * @cssproperty --patchbay-connector-picker-active-background - The highlighted option's background.
 */
export class ConnectorPicker extends PatchbayElement {
  static override styles = [...styles, connectionsStyles];

  readonly #flow = createFlowStore();
  readonly #flowState = new StoreController<FlowState>(this, this.#flow);
  readonly i18n = new LocaleController(this);
  readonly flow = new FlowController(this, this.#flow, {
    step: (step) => this.emit('patchbay-step', { step }),
    connected: (detail) => {
      this.#spentToken = this.sessionToken;
      this.emit('patchbay-connected', detail);
      void this.catalog.run();
      this.#focusTrigger();
    },
    cancelled: (reason) => {
      this.emit('patchbay-cancel', { reason });
      this.#focusTrigger();
    },
    failed: (error) => {
      this.emit('patchbay-error', error);
      this.#focusTrigger();
    },
  });

  /** The tenant's state for each connector, from the server (shared with `<connect-button>`). */
  readonly tenant = new TenantStateController(this, {
    source: () => ({ server: this.server || window.location.origin, integration: this.integration, token: this.sessionToken }),
    requireToken: true,
    invalidTokenText: () => this.i18n.text('error.invalidToken'),
    failed: (error) => this.emit('patchbay-error', error),
  });
  /** The session's connectors, fetched when the token or server changes (and on `refresh()`). */
  readonly catalog = this.tenant.task;
  readonly manager = new ConnectionsManager(this, this.tenant, {
    reconnect: (connector, connection) => this.#run(connector, 'reconnect', connection.id),
    disconnected: (detail) => {
      this.emit('patchbay-disconnected', detail);
      this.trigger?.focus();
    },
    failed: (error) => this.emit('patchbay-error', error),
  });

  #stopAutoUpdate: (() => void) | null = null;
  #spentToken = '';

  @query('[part~="trigger"]') private trigger!: HTMLButtonElement;
  @query('[part~="popover"]') private panel!: HTMLElement;
  @query('[part~="search"]') private search!: HTMLInputElement;

  @state() private query = '';
  @state() private activeSlug: string | null = null;
  @state() private chosen: SessionConnector | null = null;

  /** The integration id, as in `{server}/v1/integrations/{integration}`. */
  @property() integration = '';

  /** The session token the host's backend got from `POST …/session` (never an access key). */
  @property({ attribute: 'session-token' }) sessionToken = '';

  /** The Patchbay server's origin; defaults to this page's origin. */
  @property() server = '';

  /** Whether the popover is open; set it to open or close the picker from outside. */
  @property({ type: Boolean, reflect: true }) open = false;

  /** Where the popover goes when there is room; it flips to the other side near the viewport edge. */
  @property() placement: 'bottom-start' | 'bottom-end' | 'top-start' | 'top-end' = 'bottom-start';

  override connectedCallback(): void {
    super.connectedCallback();
    queueMicrotask(() => this.#resume());
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#stopPositioning();
    document.removeEventListener('pointerdown', this.#onDocumentPointerDown, true);
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('open')) {
      if (this.open) void this.#startPositioning();
      else if (changed.get('open') === true) this.#stopPositioning();
    }
    if (changed.has('query') || changed.has('open') || changed.has('activeSlug')) this.#keepActiveVisible();
    if (changed.has('sessionToken')) queueMicrotask(() => this.#resume());
  }

  /** Continues wherever the session stands (remount, reload, back from page mode); never opens a window. */
  #resume(): void {
    if (this.sessionToken && this.integration && this.isConnected)
      void this.flow.resume({ server: this.server || window.location.origin, integration: this.integration, token: this.sessionToken });
  }

  /** The connectors the search matches, in catalog order. */
  get visibleConnectors(): SessionConnector[] {
    const connectors = this.catalog.value ?? [];
    const needle = fold(this.query.trim());
    if (!needle) return connectors;
    return connectors.filter((connector) =>
      [connector.name, connector.description, connector.domain ?? '', connector.slug].some((text) => fold(text).includes(needle)),
    );
  }

  async #startPositioning(): Promise<void> {
    this.#stopPositioning();
    document.addEventListener('pointerdown', this.#onDocumentPointerDown, true);
    const { followAnchor } = await loadPositioning();
    if (!this.open || this.#stopAutoUpdate) return;
    this.#stopAutoUpdate = followAnchor(this.trigger, this.panel, this.placement);
  }

  #stopPositioning(): void {
    this.#stopAutoUpdate?.();
    this.#stopAutoUpdate = null;
    document.removeEventListener('pointerdown', this.#onDocumentPointerDown, true);
  }

  #onDocumentPointerDown = (event: PointerEvent): void => {
    if (!event.composedPath().includes(this)) this.hide({ returnFocus: false });
  };

  #onTriggerClick(): void {
    if (this.open) this.hide();
    else void this.show();
  }

  #onTriggerKeyDown(event: KeyboardEvent): void {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      void this.show();
    }
  }

  #onSearchInput(event: InputEvent): void {
    this.query = (event.target as HTMLInputElement).value;
    this.activeSlug = this.visibleConnectors[0]?.slug ?? null;
  }

  #onSearchKeyDown(event: KeyboardEvent): void {
    const matches = this.visibleConnectors;
    const index = matches.findIndex((connector) => connector.slug === this.#activeSlug());
    const move = LISTBOX_MOVES[event.key];
    if (move) {
      event.preventDefault();
      if (matches.length > 0) this.activeSlug = matches[Math.min(matches.length - 1, Math.max(0, move(index, matches.length)))]!.slug;
      return;
    }
    switch (event.key) {
      case 'Enter': {
        event.preventDefault();
        const active = matches[index];
        if (active) this.choose(active);
        return;
      }
      case 'Escape':
        event.preventDefault();
        event.stopPropagation();
        this.hide();
        return;
      case 'Tab':
        // Tab leaves the popover as it leaves a select's list: closed, and on to the next control.
        this.hide();
        return;
    }
  }

  #onOptionClick(connector: SessionConnector): void {
    this.activeSlug = connector.slug;
    this.choose(connector);
  }

  /** The highlighted option: the one the keyboard or pointer chose, else the first match. */
  #activeSlug(): string | null {
    const matches = this.visibleConnectors;
    return matches.find((connector) => connector.slug === this.activeSlug)?.slug ?? matches[0]?.slug ?? null;
  }

  #keepActiveVisible(): void {
    const active = this.#activeSlug();
    if (!this.open || !active) return;
    this.renderRoot.querySelector(`#${CSS.escape(`option-${active}`)}`)?.scrollIntoView({ block: 'nearest' });
  }

  #focusTrigger(): void {
    if (document.activeElement === document.body || this.matches(':focus-within') || document.activeElement === this) this.trigger?.focus();
  }

  /** Opens the popover and puts the keyboard in its search field. */
  async show(): Promise<void> {
    if (this.open) return;
    this.open = true;
    // Shown now, as hide() hides now: the template's binding may not see a change to commit.
    if (this.panel) this.panel.hidden = false;
    this.activeSlug = this.visibleConnectors[0]?.slug ?? null;
    await this.updateComplete;
    this.search?.focus();
  }

  /** Closes the popover; focus goes back to the trigger unless `returnFocus` is false. */
  hide({ returnFocus = true }: { returnFocus?: boolean } = {}): void {
    if (!this.open) return;
    this.open = false;
    // Hidden now, not at the next render: a Tab being handled must not land inside the popover.
    if (this.panel) this.panel.hidden = true;
    if (returnFocus) this.trigger?.focus();
  }

  /** Fetches the catalog again (for example after the tenant connected elsewhere). */
  refresh(): Promise<unknown> {
    return this.catalog.run();
  }

  /**
   * Chooses a connector as a click does: runs the flow for it. Call it from a user gesture, or
   * the browser will block the popup (the flow then falls back to a full-page redirect).
   */
  choose(connector: SessionConnector): void {
    this.#run(connector, choiceFor(connector), reauthTargetOf(connector));
  }

  #run(connector: SessionConnector, choice: ConnectorChoice, connectionId: string | undefined): void {
    if (this.flow.running) return;
    if (this.#spentToken && this.#spentToken === this.sessionToken) {
      this.#flow.set({ status: 'error', step: null, installId: null, error: { code: 'session_used', message: this.i18n.text('picker.status.sessionUsed') } });
      this.hide();
      return;
    }
    const request = this.emit('patchbay-request-connect', { connector: connector.slug, choice, connectionId: connectionId ?? null }, { cancelable: true });
    if (request.defaultPrevented) return;
    this.chosen = connector;
    this.hide();
    const params: Record<string, string> = { connector: connector.slug, ...(connectionId ? { reauth: connectionId } : {}) };
    this.flow.start({ server: this.server || window.location.origin, integration: this.integration, token: this.sessionToken, params });
  }

  #renderStatus() {
    const { status, error, windowLost, cancelReason } = this.#flowState.value;
    const name = this.chosen?.name ?? this.catalog.value?.find((connector) => connector.slug === this.flow.connector)?.name ?? '';
    const texts: Record<FlowState['status'], string> = {
      idle: '',
      'needs-reauth': '',
      connecting: this.i18n.text(windowLost ? 'picker.status.windowLost' : 'picker.status.connecting', { name }),
      connected: this.i18n.text('picker.status.connected', { name }),
      cancelled: this.i18n.text(cancelReason === 'expired' ? 'picker.status.expired' : 'picker.status.cancelled', { name }),
      error:
        error?.code === 'session_used'
          ? this.i18n.text('picker.status.sessionUsed')
          : this.i18n.text('picker.status.error', { name, message: this.i18n.error(error) }),
    };
    return html`<span part="status" role="status" aria-live="polite" data-status=${status}>${texts[status]}</span>
      ${status === 'connecting' && windowLost ? renderFlowChoices(this.flow, this.i18n) : nothing}`;
  }

  #renderCatalog() {
    return this.catalog.render({
      initial: () => html`<p part="message" data-kind="loading">${this.i18n.text('picker.loading')}</p>`,
      pending: () => (this.catalog.value ? this.#renderList() : html`<p part="message" data-kind="loading">${this.i18n.text('picker.loading')}</p>`),
      error: (error) => html`
        <p part="message" data-kind="error" role="alert">${this.i18n.text('picker.loadError', { message: error instanceof PatchbayApiError ? this.i18n.error(error) : String(error) })}</p>
        <button part="retry" type="button" @click=${() => void this.catalog.run()}>${this.i18n.text('picker.retry')}</button>
      `,
      complete: () => this.#renderList(),
    });
  }

  #renderList() {
    const all = this.catalog.value ?? [];
    const matches = this.visibleConnectors;
    if (all.length === 0) return html`<p part="message" data-kind="empty">${this.i18n.text('picker.empty')}</p>`;
    return html`
      <ul part="listbox" id="listbox" role="listbox" aria-label=${this.i18n.text('picker.list')}>
        ${matches.map((connector) =>
          renderOption(connector, {
            active: connector.slug === this.#activeSlug(),
            text: (key) => this.i18n.text(key),
            choose: () => this.#onOptionClick(connector),
            hover: () => (this.activeSlug = connector.slug),
          }),
        )}
      </ul>
      ${matches.length === 0 ? html`<p part="message" data-kind="no-match">${this.i18n.text('picker.noMatch', { query: this.query.trim() })}</p>` : nothing}
      <span class="visually-hidden" role="status" aria-live="polite">${this.query ? this.i18n.text('picker.count', { count: String(matches.length) }) : ''}</span>
    `;
  }

  override render() {
    const { status } = this.#flowState.value;
    const busy = status === 'connecting';
    const active = this.open ? this.#activeSlug() : null;
    // The combobox's list is "expanded" only when there is a list: not while loading or failed.
    const hasList = this.open && Boolean(this.catalog.value?.length);
    return html`
      <div part="base">
        <button
          part="trigger"
          class="button"
          type="button"
          aria-haspopup="dialog"
          aria-expanded=${this.open ? 'true' : 'false'}
          aria-controls="popover"
          aria-busy=${busy ? 'true' : 'false'}
          @click=${this.#onTriggerClick}
          @keydown=${this.#onTriggerKeyDown}
        >
          ${busy ? html`<span class="spinner" aria-hidden="true"></span>` : nothing}
          ${busy ? this.i18n.text('picker.triggerBusy', { name: this.chosen?.name ?? '' }) : html`<slot>${this.i18n.text('picker.trigger')}</slot>`}
        </button>
        <div part="popover" id="popover" role="dialog" aria-label=${this.i18n.text('picker.dialog')} ?hidden=${!this.open}>
          <input
            part="search"
            type="search"
            role="combobox"
            autocomplete="off"
            spellcheck="false"
            aria-label=${this.i18n.text('picker.search')}
            placeholder=${this.i18n.text('picker.searchPlaceholder')}
            aria-autocomplete="list"
            aria-expanded=${hasList ? 'true' : 'false'}
            aria-controls=${hasList ? 'listbox' : nothing}
            aria-activedescendant=${active ? `option-${active}` : nothing}
            .value=${this.query}
            @input=${this.#onSearchInput}
            @keydown=${this.#onSearchKeyDown}
          />
          ${this.#renderCatalog()}
        </div>
        ${this.#renderStatus()} ${this.manager.render(busy)}
      </div>
    `;
  }
}

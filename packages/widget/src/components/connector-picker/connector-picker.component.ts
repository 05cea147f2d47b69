import { html, nothing } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { PatchbayApiError, type SessionConnector } from '../../internal/api-client.js';
import { ConnectionsManager } from '../../internal/connections-manager.js';
import { connectionsStyles } from '../../internal/connections-manager.styles.js';
import { FlowRunner } from '../../internal/flow-runner.js';
import { LocaleController } from '../../internal/locale-controller.js';
import { PatchbayElement } from '../../internal/patchbay-element.js';
import { PopoverController } from '../../internal/popover-controller.js';
import { TenantStateController } from '../../internal/tenant-state.js';
import type { FlowState } from '../../state/flow.js';
import { asksForMethod, methodStepStyles, moveMethodFocus, renderMethodStep } from './connector-picker.methods.js';
import { choiceFor, type ConnectorChoice, fold, moveActive, reauthTargetOf, renderOption } from './connector-picker.option.js';
import styles from './connector-picker.styles.js';
import '../../events/patchbay-disconnected.js';
import '../../events/patchbay-request-connect.js';
import { en } from '../../i18n/en.js';

export type { ConnectorChoice } from './connector-picker.option.js';

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
 * A connector offering several auth methods (OAuth, API key, password…) asks which one first, in
 * a second step of the popover: the server's default first, marked Recommended.
 *
 * @event patchbay-request-connect - Cancelable: the user chose `{ connector, choice, connectionId, method? }`; call `preventDefault()` to stop the flow.
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
 * @csspart methods - The step that asks how to connect a connector with several auth methods (a labelled group).
 * @csspart methods-heading - That step's question.
 * @csspart method - One auth method's button (`data-method`: oauth2, apiKey, basic, bearer, custom or none).
 * @csspart method-name - An auth method's name.
 * @csspart method-default - The default method's button (the first).
 * @csspart method-badge - The "Recommended" mark on the default method.
 * @csspart back - Goes back from the method step to the list of connectors.
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
  static override styles = [...styles, connectionsStyles, methodStepStyles];

  readonly i18n = new LocaleController(this, en);
  readonly #run = new FlowRunner(this, {
    connected: () => void this.catalog.run(),
    focusTarget: () => this.trigger,
  });
  readonly flow = this.#run.flow;

  /** The tenant's state for each connector, from the server (shared with `<connect-button>`). */
  readonly tenant = new TenantStateController(this, { requireToken: true });
  /** The session's connectors, fetched when the token or server changes (and on `refresh()`). */
  readonly catalog = this.tenant.task;
  readonly manager = new ConnectionsManager(this, this.tenant, {
    reconnect: (connector, connection) => this.#start(connector, 'reconnect', connection.id),
    disconnected: (detail) => {
      this.emit('patchbay-disconnected', detail);
      this.trigger?.focus();
    },
  });
  readonly #popover = new PopoverController(this, {
    trigger: () => this.trigger,
    panel: () => this.panel,
    placement: () => this.placement,
    initialFocus: () => this.search,
    opening: () => {
      this.methodsOf = null;
      this.activeSlug = this.visibleConnectors[0]?.slug ?? null;
    },
  });

  @query('[part~="trigger"]') private trigger!: HTMLButtonElement;
  @query('[part~="popover"]') private panel!: HTMLElement;
  @query('[part~="search"]') private search!: HTMLInputElement;

  @state() private query = '';
  @state() private activeSlug: string | null = null;
  @state() private chosen: SessionConnector | null = null;
  /** The connector whose auth methods the popover asks about (its second step), or null for the list. */
  @state() private methodsOf: SessionConnector | null = null;

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

  override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('query') || changed.has('open') || changed.has('activeSlug')) this.#keepActiveVisible();
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

  #onSearchInput(event: InputEvent): void {
    this.query = (event.target as HTMLInputElement).value;
    this.activeSlug = this.visibleConnectors[0]?.slug ?? null;
  }

  /** The combobox's keys: arrows, Home, End and Page keys move the active option, Enter chooses it. */
  #onSearchKeyDown(event: KeyboardEvent): void {
    const matches = this.visibleConnectors;
    const next = moveActive(event.key, matches, this.#activeSlug());
    if (next !== undefined) {
      event.preventDefault();
      if (next) this.activeSlug = next;
    } else if (event.key === 'Enter') {
      event.preventDefault();
      const active = matches.find((connector) => connector.slug === this.#activeSlug());
      if (active) this.choose(active);
    } else this.#popover.onPanelKeyDown(event);
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

  /** Opens the popover and puts the keyboard in its search field. */
  show(): Promise<void> {
    return this.#popover.show();
  }

  /** Closes the popover; focus goes back to the trigger unless `returnFocus` is false. */
  hide({ returnFocus = true }: { returnFocus?: boolean } = {}): void {
    this.#popover.hide({ returnFocus });
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
    const reauth = reauthTargetOf(connector);
    if (asksForMethod(connector, reauth)) void this.#askMethod(connector);
    else this.#start(connector, choiceFor(connector), reauth);
  }

  /** The method step, with the keyboard on its first (recommended) method. */
  async #askMethod(connector: SessionConnector): Promise<void> {
    if (this.flow.running) return;
    this.activeSlug = connector.slug;
    this.methodsOf = connector;
    await this.updateComplete;
    this.renderRoot.querySelector<HTMLElement>('[part~="method"]')?.focus();
  }

  /** Back to the list, the keyboard in the search field on the same connector. */
  async #backToList(): Promise<void> {
    this.methodsOf = null;
    await this.updateComplete;
    this.search?.focus();
  }

  #onMethodKeyDown(event: KeyboardEvent): void {
    if (moveMethodFocus(event, this.renderRoot)) return;
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      void this.#backToList();
    } else if (event.key === 'Tab') {
      // Tab past either end leaves the popover, closed, as from the search field.
      const buttons = [...this.renderRoot.querySelectorAll<HTMLElement>('[part~="methods"] button')];
      const focused = buttons.findIndex((button) => button.matches(':focus'));
      if ((event.shiftKey && focused === 0) || (!event.shiftKey && focused === buttons.length - 1)) this.#popover.onPanelKeyDown(event);
    }
  }

  #start(connector: SessionConnector, choice: ConnectorChoice, connectionId: string | undefined, method?: string): void {
    if (this.flow.running) return;
    if (this.#run.refuseUsedSession()) {
      this.hide();
      return;
    }
    const detail = { connector: connector.slug, choice, connectionId: connectionId ?? null, ...(method ? { method } : {}) };
    const request = this.emit('patchbay-request-connect', detail, { cancelable: true });
    if (request.defaultPrevented) return;
    this.chosen = connector;
    this.hide();
    this.#run.start({ connector: connector.slug, ...(connectionId ? { reauth: connectionId } : {}), ...(method ? { method } : {}) });
  }

  #renderStatus() {
    const { status, error, windowLost, cancelReason } = this.#run.state;
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
      ${status === 'connecting' && windowLost ? this.#run.renderChoices() : nothing}`;
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

  #renderMethodStep(connector: SessionConnector) {
    return renderMethodStep(connector, {
      text: (key, values) => this.i18n.text(key, values),
      choose: (method) => this.#start(connector, choiceFor(connector), undefined, method),
      back: () => void this.#backToList(),
      keydown: (event) => this.#onMethodKeyDown(event),
    });
  }

  /** The combobox: the search field and the catalog it filters. */
  #renderSearch(hasList: boolean, active: string | null) {
    return html`
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
    `;
  }

  override render() {
    const { status } = this.#run.state;
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
          @click=${this.#popover.onTriggerClick}
          @keydown=${this.#popover.onTriggerKeyDown}
        >
          ${busy ? html`<span class="spinner" aria-hidden="true"></span>` : nothing}
          ${busy ? this.i18n.text('picker.triggerBusy', { name: this.chosen?.name ?? '' }) : html`<slot>${this.i18n.text('picker.trigger')}</slot>`}
        </button>
        <div part="popover" id="popover" role="dialog" aria-label=${this.i18n.text('picker.dialog')} ?hidden=${!this.open}>
          ${this.methodsOf ? this.#renderMethodStep(this.methodsOf) : this.#renderSearch(hasList, active)}
        </div>
        ${this.#renderStatus()} ${this.manager.render(busy)}
      </div>
    `;
  }
}

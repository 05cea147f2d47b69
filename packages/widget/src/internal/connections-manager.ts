import { html, nothing, type ReactiveController } from 'lit';
import type { SessionConnector, TenantConnection } from './api-client.js';
import type { ConnectHost } from './connect-host.js';
import { type TenantStateController, toError } from './tenant-state.js';
import '../events/patchbay-error.js';
import { en } from '../i18n/en.js';
import { useEnglish } from '../i18n/index.js';

export interface ConnectionsManagerEvents {
  /** The tenant chose Reconnect: run the flow re-authorizing this connection. */
  reconnect(connector: SessionConnector, connection: TenantConnection): void;
  /** The server revoked the connection (the list already shows it gone). */
  disconnected(detail: { connectionId: string; connector: string; integration: string }): void;
}

const STATE_TEXT = {
  active: 'manage.state.active',
  expiring: 'manage.state.expiring',
  needs_reauth: 'manage.state.needsReauth',
} as const;

/**
 * The tenant's connections for the integration, with Reconnect and Disconnect: one list shared by
 * `<connect-button manage>` and `<connector-picker>`. Disconnect asks first, inline: the question
 * takes the keyboard focus (on "Cancel", the harmless answer), Escape or Cancel puts it back on
 * Disconnect, and only "Yes, disconnect" calls the server. A failed disconnect is shown on its row
 * and reported (`patchbay-error`).
 */
export class ConnectionsManager implements ReactiveController {
  static {
    // Its texts are beyond <connect-button>'s, which are all the English the script tag's core carries.
    useEnglish(en);
  }

  #confirming: string | null = null;
  #pending: string | null = null;
  #failure: { connectionId: string; text: string } | null = null;
  #announcement = '';

  constructor(
    private readonly host: ConnectHost,
    private readonly tenant: TenantStateController,
    private readonly events: ConnectionsManagerEvents,
  ) {
    host.addController(this);
  }

  hostConnected(): void {}

  #nameOf(connector: SessionConnector, connection: TenantConnection): string {
    return connection.label ? `${connector.name} (${connection.label})` : connector.name;
  }

  #date(iso: string | null): string {
    if (!iso) return '';
    try {
      return new Intl.DateTimeFormat(this.host.i18n.locale, { dateStyle: 'medium' }).format(new Date(iso));
    } catch {
      return new Date(iso).toLocaleDateString();
    }
  }

  async #focus(selector: string): Promise<void> {
    await this.host.updateComplete;
    this.host.renderRoot.querySelector<HTMLElement>(selector)?.focus();
  }

  #ask(connectionId: string): void {
    this.#confirming = connectionId;
    this.#failure = null;
    this.host.requestUpdate();
    void this.#focus(`[data-connection="${connectionId}"] [part~="confirm-cancel"]`);
  }

  #cancel(connectionId: string): void {
    if (this.#pending) return;
    this.#confirming = null;
    this.host.requestUpdate();
    void this.#focus(`[data-connection="${connectionId}"] [part~="disconnect"]`);
  }

  async #disconnect(connector: SessionConnector, connection: TenantConnection): Promise<void> {
    if (this.#pending) return;
    const name = this.#nameOf(connector, connection);
    this.#pending = connection.id;
    this.host.requestUpdate();
    try {
      await this.tenant.disconnect(connection.id);
      this.#announcement = this.host.i18n.text('manage.disconnected', { name });
      this.#confirming = null;
      this.events.disconnected({ connectionId: connection.id, connector: connector.slug, integration: this.host.integration });
    } catch (error) {
      const failure = toError(error);
      this.#confirming = null;
      this.#failure = { connectionId: connection.id, text: this.host.i18n.text('manage.failed', { name, message: this.host.i18n.error(failure) }) };
      this.host.emit('patchbay-error', failure);
      this.host.requestUpdate();
      void this.#focus(`[data-connection="${connection.id}"] [part~="disconnect"]`);
    } finally {
      this.#pending = null;
      this.host.requestUpdate();
    }
  }

  #onConfirmKeyDown(event: KeyboardEvent, connectionId: string): void {
    if (event.key !== 'Escape') return;
    event.preventDefault();
    event.stopPropagation();
    this.#cancel(connectionId);
  }

  #renderConfirm(connector: SessionConnector, connection: TenantConnection, name: string) {
    const pending = this.#pending === connection.id;
    return html`
      <span part="confirm" role="group" aria-labelledby=${`confirm-${connection.id}`} @keydown=${(event: KeyboardEvent) => this.#onConfirmKeyDown(event, connection.id)}>
        <span id=${`confirm-${connection.id}`} class="confirm-text">${this.host.i18n.text('manage.confirm', { name })}</span>
        <button
          part="confirm-disconnect"
          type="button"
          aria-busy=${pending ? 'true' : 'false'}
          @click=${() => void this.#disconnect(connector, connection)}
        >
          ${this.host.i18n.text(pending ? 'manage.disconnecting' : 'manage.confirmYes')}
        </button>
        <button part="confirm-cancel" type="button" aria-disabled=${pending ? 'true' : 'false'} @click=${() => this.#cancel(connection.id)}>
          ${this.host.i18n.text('manage.confirmNo')}
        </button>
      </span>
    `;
  }

  #renderConnection(connector: SessionConnector, connection: TenantConnection, busy: boolean) {
    const name = this.#nameOf(connector, connection);
    const failure = this.#failure?.connectionId === connection.id ? this.#failure.text : null;
    const dates = [this.host.i18n.text('manage.connectedOn', { date: this.#date(connection.connectedAt) })];
    if (connection.status !== 'active' && connection.expiresAt) dates.push(this.host.i18n.text('manage.expiresOn', { date: this.#date(connection.expiresAt) }));
    return html`
      <li part="connection" data-connection=${connection.id} data-state=${connection.status}>
        <span part="connection-name">${name}</span>
        <span part="connection-state" data-state=${connection.status}>${this.host.i18n.text(STATE_TEXT[connection.status])}</span>
        <span part="connection-date">${dates.join(' · ')}</span>
        ${
          this.#confirming === connection.id
            ? this.#renderConfirm(connector, connection, name)
            : html`<span class="connection-actions">
                <button
                  part="reconnect"
                  type="button"
                  aria-label=${this.host.i18n.text('manage.reconnectNamed', { name })}
                  aria-disabled=${busy ? 'true' : 'false'}
                  @click=${() => !busy && this.events.reconnect(connector, connection)}
                >
                  ${this.host.i18n.text('manage.reconnect')}
                </button>
                <button
                  part="disconnect"
                  type="button"
                  aria-label=${this.host.i18n.text('manage.disconnectNamed', { name })}
                  aria-disabled=${busy ? 'true' : 'false'}
                  @click=${() => !busy && this.#ask(connection.id)}
                >
                  ${this.host.i18n.text('manage.disconnect')}
                </button>
              </span>`
        }
        ${failure ? html`<span class="connection-error" role="alert">${failure}</span>` : nothing}
      </li>
    `;
  }

  /** The list (when the tenant has connections) and its own polite live region; `busy` while a flow runs. */
  render(busy: boolean) {
    const rows = (this.tenant.connectors ?? []).flatMap((connector) => connector.connections.map((connection) => [connector, connection] as const));
    return html`
      ${
        rows.length > 0
          ? html`<ul part="connections" aria-label=${this.host.i18n.text('manage.list')}>
              ${rows.map(([connector, connection]) => this.#renderConnection(connector, connection, busy))}
            </ul>`
          : nothing
      }
      <span class="visually-hidden" role="status" aria-live="polite">${this.#announcement}</span>
    `;
  }
}

import { html, nothing, type TemplateResult } from 'lit';
import { property, query, state } from 'lit/decorators.js';
import { PatchbayApiError } from '../../internal/api-client.js';
import { LocaleController } from '../../internal/locale-controller.js';
import { PartnerPortalClient, type PartnerEnvironment, type PortalState } from '../../internal/partner-portal-client.js';
import { readableTextOn } from '../../internal/contrast.js';
import { PatchbayElement } from '../../internal/patchbay-element.js';
import { renderHeader } from './partner-onboarding.header.js';
import { breakableTopic, ENVIRONMENTS, GRACE_CHOICES, linkCodeOf, type OnboardingStep, type Screen, STEPS } from './partner-onboarding.steps.js';
import styles from './partner-onboarding.styles.js';
import '../../events/patchbay-error.js';
import '../../events/patchbay-onboarding-step.js';
import { en, type TranslationKey } from '../../i18n/en.js';

/** How long a copy button says "Copied" before it offers to copy again. */
const COPIED_FOR_MS = 2000;

export { linkCodeOf, type OnboardingStep } from './partner-onboarding.steps.js';

/**
 * @summary Walks an invited partner through onboarding: redeem the one-time link, check the
 * workspace, fill in their details, take one key per environment (each shown once), choose the
 * event topics to publish and consume, and see how to call the API.
 *
 * On the embedded URL (`{server}/partner#code=pbl_…`) it reads the code from the address bar and
 * removes it at once; after redemption a short-lived portal session (an httpOnly cookie) lets the
 * partner come back to rotate keys or change topics.
 *
 * A host can embed it on its own site and pass a link in `link` instead; the server must list that
 * site in `PATCHBAY_PARTNER_EMBED_ORIGINS`. There the session is a token held in memory only, so a
 * reload needs a new link: issue a fresh one per visit.
 *
 * @event patchbay-onboarding-step - The partner moved to a step: `{ step }`.
 * @event patchbay-error - Redeeming or saving failed: `{ code, message }`.
 *
 * @csspart base - The card around everything.
 * @csspart header - The workspace's name and icon, and the partner's.
 * @csspart partner - The partner's icon, name and owner, beside an accent in the partner's colour.
 * @csspart partner-icon - The partner's icon (its initial on its colour when there is none, or it fails to load).
 * @csspart owner - Who owns the partnership at the workspace.
 * @csspart steps - The list of steps (the current one has `aria-current="step"`).
 * @csspart panel - The current step's content.
 * @csspart heading - The current step's heading (it takes the focus on each step).
 * @csspart field - A form field's wrapper.
 * @csspart key - A freshly created key, shown once.
 * @csspart copy - A copy button.
 * @csspart warning - The "shown once" warning.
 * @csspart snippet - The code sample on the last step.
 * @csspart button - A secondary button.
 * @csspart primary - The button that moves on.
 * @csspart message - Loading and error messages.
 *
 * @cssproperty --patchbay-onboarding-width - The card's greatest width.
 * @cssproperty --patchbay-onboarding-accent - The accent colour; defaults to the workspace's colour, then --patchbay-color-primary.
 * @cssproperty --patchbay-onboarding-on-accent - Text on the accent colour; defaults to white or near-black, whichever reads better on the workspace's colour.
 */
export class PartnerOnboarding extends PatchbayElement {
  static override styles = styles;

  readonly i18n = new LocaleController(this, en);
  #client: PartnerPortalClient | null = null;
  #code: string | null | undefined;
  /** Set by the partner's own moves: the next screen's heading takes the focus (not on page load). */
  #focusHeading = false;
  #copiedTimer: ReturnType<typeof setTimeout> | undefined;

  @query('[part~="heading"]') private heading!: HTMLElement | null;

  @state() private screen: Screen = 'loading';
  @state() private portal: PortalState | null = null;
  @state() private error: { code: string; message: string } | null = null;
  @state() private busy = false;
  /** Keys created in this visit, by environment: shown once, gone when the partner leaves the step. */
  @state() private revealed = new Map<PartnerEnvironment, string>();
  @state() private copied: PartnerEnvironment | 'snippet' | null = null;
  /** The partner icon URL that failed to load, if any: the header shows the initial instead. */
  @state() private failedIcon: string | null = null;

  /** The Patchbay server's origin; defaults to this page's origin. */
  @property() server = '';

  /** The partner link (`…/partner#code=pbl_…`) when a host embeds the component (one per visit); else the address bar's. */
  @property() link = '';

  override connectedCallback(): void {
    super.connectedCallback();
    // Once per element: moved elsewhere in the page, it keeps its session (a link redeems once).
    if (!this.#client) void this.#begin();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    clearTimeout(this.#copiedTimer);
  }

  override updated(changed: Map<PropertyKey, unknown>): void {
    if (changed.has('screen') && this.#focusHeading && this.heading) {
      this.#focusHeading = false;
      this.heading.focus();
    }
    for (const [name, color] of [
      ['workspace', this.portal?.workspace.color],
      ['partner', this.portal?.partnerBranding.color],
    ] as const) {
      if (!color) continue;
      this.style.setProperty(`--_${name}-color`, color);
      this.style.setProperty(`--_${name}-on-color`, readableTextOn(color));
    }
  }

  /** The current step, or null before redemption and on the error screens. */
  get step(): OnboardingStep | null {
    return (STEPS as readonly string[]).includes(this.screen) ? (this.screen as OnboardingStep) : null;
  }

  /** Redeems the link, or resumes the portal session; `retry` when the partner asked for it. */
  async #begin(retry = false): Promise<void> {
    this.#client = new PartnerPortalClient(this.server || (this.link ? new URL(this.link).origin : window.location.origin));
    // Kept for a retry after a network failure: the code is gone from the address bar by then.
    const code = (this.#code ??= this.#takeCode());
    this.screen = 'loading';
    this.error = null;
    try {
      this.portal = code ? await this.#client.redeem(code) : await this.#client.state();
      this.#go('welcome', retry);
    } catch (error) {
      this.#focusHeading = retry;
      this.#failBegin(error, Boolean(code));
    }
  }

  /** Reads the link code and removes it from the address bar, so it is not bookmarked or shared. */
  #takeCode(): string | null {
    if (this.link) return linkCodeOf(this.link);
    const code = linkCodeOf(window.location.href);
    if (code) window.history.replaceState(window.history.state, '', window.location.pathname + window.location.search);
    return code;
  }

  #failBegin(error: unknown, hadCode: boolean): void {
    const status = error instanceof PatchbayApiError ? error.status : 0;
    if (status === 401 || status === 403 || status === 404 || status === 410) {
      // One screen for unknown, used, expired and revoked links: the server says no more either.
      this.screen = hadCode ? 'link-invalid' : 'session-expired';
      return;
    }
    this.screen = 'error';
    this.#fail(error);
  }

  #fail(error: unknown): void {
    const apiError = error instanceof PatchbayApiError ? error : new PatchbayApiError(0, 'unexpected_error', String(error));
    if (apiError.status === 401) {
      this.screen = 'session-expired';
      return;
    }
    this.error = { code: apiError.code, message: this.i18n.error(apiError) };
    this.emit('patchbay-error', this.error);
  }

  /** Moves to a step; the partner's own moves put the focus on its heading, the first load does not. */
  #go(screen: OnboardingStep, focus = true): void {
    this.#focusHeading = focus;
    this.error = null;
    if (screen !== 'keys') this.revealed = new Map();
    this.screen = screen;
    this.emit('patchbay-onboarding-step', { step: screen });
  }

  async #run<T>(work: () => Promise<T>): Promise<T | undefined> {
    this.busy = true;
    this.error = null;
    try {
      return await work();
    } catch (error) {
      this.#fail(error);
      return undefined;
    } finally {
      this.busy = false;
    }
  }

  async #onDetailsSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const details = {
      appName: String(form.get('appName') ?? '').trim(),
      appDescription: String(form.get('appDescription') ?? '').trim(),
      contact: String(form.get('contact') ?? '').trim(),
    };
    const portal = await this.#run(() => this.#client!.saveDetails(details));
    if (!portal) return;
    this.portal = portal;
    this.#go('keys');
  }

  async #onCreateKey(environment: PartnerEnvironment, rotate: boolean): Promise<void> {
    const grace = rotate ? Number(this.renderRoot.querySelector<HTMLSelectElement>(`#grace-${environment}`)?.value ?? '0') : 0;
    const answer = await this.#run(() => (rotate ? this.#client!.rotateKey(environment, grace) : this.#client!.createKey(environment)));
    if (!answer) return;
    this.portal = answer.state;
    this.revealed = new Map(this.revealed).set(environment, answer.key);
  }

  async #copy(text: string, what: PartnerEnvironment | 'snippet'): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.copied = what;
      clearTimeout(this.#copiedTimer);
      this.#copiedTimer = setTimeout(() => (this.copied = null), COPIED_FOR_MS);
    } catch {
      // No clipboard access (permissions, insecure context): select the text for a manual copy.
      const field =
        what === 'snippet'
          ? this.renderRoot.querySelector('[part~="snippet"]')
          : this.renderRoot.querySelector<HTMLInputElement>(`[data-environment="${what}"] [part~="key"]`);
      if (field instanceof HTMLInputElement) field.select();
      else if (field) window.getSelection()?.selectAllChildren(field);
    }
  }

  async #onEventsSubmit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    const subscriptions = { publish: form.getAll('publish').map(String), consume: form.getAll('consume').map(String) };
    const portal = await this.#run(() => this.#client!.saveSubscriptions(subscriptions));
    if (!portal) return;
    this.portal = portal;
    this.#go('done');
  }

  #text(key: TranslationKey, values?: Record<string, string>): string {
    return this.i18n.text(key, values);
  }

  #heading(key: TranslationKey, values?: Record<string, string>) {
    return html`<h2 part="heading" tabindex="-1">${this.#text(key, values)}</h2>`;
  }

  #nav(back: OnboardingStep | null, next: TemplateResult | null) {
    return html`<div class="nav">
      ${back ? html`<button part="button" type="button" @click=${() => this.#go(back)}>${this.#text('onboarding.back')}</button>` : html`<span></span>`}
      ${next ?? nothing}
    </div>`;
  }

  #renderWelcome(portal: PortalState) {
    return html`${this.#heading('onboarding.welcome.title', { workspace: portal.workspace.name })}
      <p>${portal.invitation || this.#text('onboarding.welcome.invitation', { workspace: portal.workspace.name })}</p>
      <p class="hint">${this.#text('onboarding.welcome.what')}</p>
      ${this.#nav(null, html`<button part="primary" type="button" @click=${() => this.#go('details')}>${this.#text('onboarding.start')}</button>`)}`;
  }

  #renderDetails(portal: PortalState) {
    const { partner } = portal;
    return html`${this.#heading('onboarding.details.title')}
      <form @submit=${this.#onDetailsSubmit}>
        <div part="field">
          <label for="appName">${this.#text('onboarding.details.appName')}</label>
          <input id="appName" name="appName" required maxlength="100" autocomplete="organization" .value=${partner.appName} />
        </div>
        <div part="field">
          <label for="appDescription">${this.#text('onboarding.details.appDescription')}</label>
          <textarea id="appDescription" name="appDescription" maxlength="500" rows="3" .value=${partner.appDescription}></textarea>
        </div>
        <div part="field">
          <label for="contact">${this.#text('onboarding.details.contact')}</label>
          <input id="contact" name="contact" type="email" required maxlength="254" autocomplete="email" .value=${partner.contact} />
        </div>
        ${this.#nav('welcome', html`<button part="primary" type="submit" ?disabled=${this.busy}>${this.#text('onboarding.saveAndContinue')}</button>`)}
      </form>`;
  }

  #renderKey(portal: PortalState, environment: PartnerEnvironment) {
    const existing = portal.keys.find((key) => key.environment === environment);
    const revealed = this.revealed.get(environment);
    const label = this.#text(`onboarding.env.${environment}`);
    return html`<li class="key-row" data-environment=${environment}>
      <div class="key-head">
        <strong>${label}</strong>
        ${existing ? html`<code>${existing.prefix}…</code>` : html`<span class="hint">${this.#text('onboarding.keys.none')}</span>`}
      </div>
      ${
        revealed
          ? html`<div class="reveal">
            <input part="key" readonly .value=${revealed} aria-label=${this.#text('onboarding.keys.keyFor', { environment: label })} @focus=${(event: FocusEvent) => (event.target as HTMLInputElement).select()} />
            <button part="copy" type="button" @click=${() => void this.#copy(revealed, environment)}>${this.copied === environment ? this.#text('onboarding.copied') : this.#text('onboarding.copy')}</button>
            <p part="warning" role="alert">${this.#text('onboarding.keys.warning')}</p>
          </div>`
          : existing
            ? html`<div class="rotate">
              <label for=${`grace-${environment}`}>${this.#text('onboarding.keys.grace')}</label>
              <select id=${`grace-${environment}`}>${GRACE_CHOICES.map((choice) => html`<option value=${choice.seconds} ?selected=${choice.seconds === 86_400}>${this.#text(choice.label)}</option>`)}</select>
              <button part="button" type="button" ?disabled=${this.busy} @click=${() => void this.#onCreateKey(environment, true)}>${this.#text('onboarding.keys.rotate')}</button>
              ${existing.previousExpiresAt ? html`<p class="hint">${this.#text('onboarding.keys.previousUntil', { at: new Date(existing.previousExpiresAt).toLocaleString(this.i18n.locale) })}</p>` : nothing}
            </div>`
            : html`<button part="button" type="button" ?disabled=${this.busy} @click=${() => void this.#onCreateKey(environment, false)}>${this.#text('onboarding.keys.create')}</button>`
      }
    </li>`;
  }

  #renderKeys(portal: PortalState) {
    return html`${this.#heading('onboarding.keys.title')}
      <p>${this.#text('onboarding.keys.intro')}</p>
      <ul class="keys">${ENVIRONMENTS.map((environment) => this.#renderKey(portal, environment))}</ul>
      ${this.#nav('details', html`<button part="primary" type="button" @click=${() => this.#go('events')}>${this.#text('onboarding.continue')}</button>`)}`;
  }

  #renderEvents(portal: PortalState) {
    const { grants, subscriptions } = portal;
    return html`${this.#heading('onboarding.events.title')}
      <form @submit=${this.#onEventsSubmit}>
        ${
          grants.length === 0
            ? html`<p part="message">${this.#text('onboarding.events.none')}</p>`
            : html`<table class="topics">
              <thead>
                <tr><th scope="col">${this.#text('onboarding.events.topic')}</th><th scope="col">${this.#text('onboarding.events.publish')}</th><th scope="col">${this.#text('onboarding.events.consume')}</th></tr>
              </thead>
              <tbody>
                ${grants.map(
                  (grant) => html`<tr>
                    <th scope="row"><code>${breakableTopic(grant.topic)}</code></th>
                    <td>${grant.send ? html`<input type="checkbox" name="publish" .value=${grant.topic} aria-label=${this.#text('onboarding.events.publishTopic', { topic: grant.topic })} ?checked=${subscriptions.publish.includes(grant.topic)} />` : html`<span class="hint">—</span>`}</td>
                    <td>${grant.receive ? html`<input type="checkbox" name="consume" .value=${grant.topic} aria-label=${this.#text('onboarding.events.consumeTopic', { topic: grant.topic })} ?checked=${subscriptions.consume.includes(grant.topic)} />` : html`<span class="hint">—</span>`}</td>
                  </tr>`,
                )}
              </tbody>
            </table>`
        }
        ${this.#nav('keys', html`<button part="primary" type="submit" ?disabled=${this.busy}>${this.#text('onboarding.saveAndContinue')}</button>`)}
      </form>`;
  }

  #renderDone(portal: PortalState) {
    const topic = portal.subscriptions.publish[0] ?? portal.grants.find((grant) => grant.send)?.topic ?? 'app/order/created';
    const snippet = [
      `curl -X POST ${portal.apiBaseUrl}/v1/events \\`,
      `  -H "Authorization: Bearer $PATCHBAY_PARTNER_KEY" \\`,
      `  -H "Content-Type: application/json" \\`,
      `  -d '{"topic": "${topic}", "payload": {"id": "123"}}'`,
      '',
      `curl -N "${portal.apiBaseUrl}/v1/events/stream?topics=${encodeURIComponent(portal.subscriptions.consume.join(',') || topic)}" \\`,
      `  -H "Authorization: Bearer $PATCHBAY_PARTNER_KEY"`,
    ].join('\n');
    return html`${this.#heading('onboarding.done.title')}
      <p>${this.#text('onboarding.done.intro', { workspace: portal.workspace.name })}</p>
      <pre part="snippet" tabindex="0" aria-label=${this.#text('onboarding.done.snippet')}><code>${snippet}</code></pre>
      <button part="copy" type="button" @click=${() => void this.#copy(snippet, 'snippet')}>${this.copied === 'snippet' ? this.#text('onboarding.copied') : this.#text('onboarding.copy')}</button>
      <p class="hint">${this.#text('onboarding.done.comeBack')}</p>
      ${this.#nav('events', null)}`;
  }

  #renderScreen() {
    const portal = this.portal;
    switch (this.screen) {
      case 'loading':
        return html`<p part="message" role="status">${this.#text('onboarding.loading')}</p>`;
      case 'link-invalid':
        return html`${this.#heading('onboarding.linkInvalid.title')}<p part="message">${this.#text('onboarding.linkInvalid.body')}</p>`;
      case 'session-expired':
        return html`${this.#heading('onboarding.sessionExpired.title')}<p part="message">${this.#text('onboarding.sessionExpired.body')}</p>`;
      case 'error':
        return html`${this.#heading('onboarding.failed.title')}<button part="primary" type="button" @click=${() => void this.#begin(true)}>${this.#text('onboarding.retry')}</button>`;
    }
    if (!portal) return nothing;
    const views: Record<OnboardingStep, (portal: PortalState) => TemplateResult> = {
      welcome: (p) => this.#renderWelcome(p),
      details: (p) => this.#renderDetails(p),
      keys: (p) => this.#renderKeys(p),
      events: (p) => this.#renderEvents(p),
      done: (p) => this.#renderDone(p),
    };
    return views[this.screen](portal);
  }

  override render() {
    const portal = this.portal;
    const current = this.step;
    return html`<section part="base" aria-busy=${this.busy ? 'true' : 'false'}>
      ${
        portal
          ? renderHeader(portal, (key, values) => this.#text(key, values), {
              failed: portal.partnerBranding.icon === this.failedIcon,
              onError: () => (this.failedIcon = portal.partnerBranding.icon),
            })
          : nothing
      }
      ${
        current
          ? html`<ol part="steps" aria-label=${this.#text('onboarding.steps')}>
            ${STEPS.map((step, index) => html`<li aria-current=${step === current ? 'step' : nothing} class=${index < STEPS.indexOf(current) ? 'done' : ''}>${this.#text(`onboarding.step.${step}`)}</li>`)}
          </ol>`
          : nothing
      }
      <div part="panel">${this.#renderScreen()}</div>
      ${this.error ? html`<p part="message" class="error" role="alert">${this.#text('onboarding.error', { message: this.error.message })}</p>` : nothing}
    </section>`;
  }
}

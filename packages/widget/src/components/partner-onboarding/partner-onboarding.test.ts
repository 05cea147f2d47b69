import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { PartnerOnboarding } from './partner-onboarding.component.js';
import { linkCodeOf } from './partner-onboarding.component.js';
import './partner-onboarding.js';
import { contrastRatio } from '../../internal/contrast.js';

/** `rgb(r, g, b)` from getComputedStyle as `#rrggbb`. */
const hexOf = (rgb: string) =>
  `#${rgb
    .match(/\d+/g)!
    .slice(0, 3)
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join('')}`;

let counter = 0;
/** A code the stand-in redeems once (`pbl_good…`), fresh per test. */
const goodCode = () => `pbl_good${Date.now().toString(36)}${(counter += 1)}`.padEnd(30, 'x');

const part = <T extends HTMLElement = HTMLElement>(el: PartnerOnboarding, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
/** The part name of the focused element inside the component (a string: a failing assertion prints it). */
const focusedPart = (el: PartnerOnboarding) => el.shadowRoot!.activeElement?.getAttribute('part') ?? null;
const heading = (el: PartnerOnboarding) => part(el, 'heading')?.textContent?.trim();
const button = (el: PartnerOnboarding, text: string) =>
  [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent!.trim() === text)!;
const portalOf = async () =>
  (await (await fetch('/__portal/current')).json()) as { calls: string[]; lastGrace: number; subscriptions: { publish: string[]; consume: string[] } };

/** Redeems a fresh link and fills in the details step, as a partner would, up to the keys step. */
async function atKeys() {
  const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
  button(el, 'Get started').click();
  await waitUntil(() => el.step === 'details');
  el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'ops@shipfast.example';
  button(el, 'Save and continue').click();
  await waitUntil(() => el.step === 'keys');
  return el;
}

async function onboarding(link: string) {
  const el = await fixture<PartnerOnboarding>(html`<partner-onboarding link=${link} server=${location.origin}></partner-onboarding>`);
  await waitUntil(() => el.shadowRoot!.querySelector('[part~="heading"]'), 'a screen with a heading');
  return el;
}

describe('<partner-onboarding>', () => {
  // The portal cookie is httpOnly: only the server can end the session.
  const endSession = () => fetch('/__portal/logout');
  afterEach(endSession);

  describe('the link', () => {
    it('reads the code from the address bar’s fragment, removes it before anything else, and redeems it', async () => {
      const code = goodCode();
      const before = location.href;
      history.replaceState(null, '', `${location.pathname}${location.search}#code=${code}`);
      const steps: string[] = [];
      document.addEventListener('patchbay-onboarding-step', (event) => steps.push(event.detail.step), { once: true });
      const el = await fixture<PartnerOnboarding>(html`<partner-onboarding server=${location.origin}></partner-onboarding>`);
      expect(location.hash).to.equal('', 'the code left the address bar synchronously, at connect');
      await waitUntil(() => el.step === 'welcome', 'redeemed');
      expect(heading(el)).to.equal('Acme Logistics invites you');
      expect(part(el, 'header')!.textContent).to.contain('Acme Logistics');
      expect(steps).to.deep.equal(['welcome']);
      await expect(el).to.be.accessible();
      history.replaceState(null, '', before);
    });

    it('redeems the link a host passes in the link attribute, leaving the host page’s address alone', async () => {
      const before = location.href;
      const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      expect(el.step).to.equal('welcome');
      expect(location.href).to.equal(before);
    });

    it('shows one "cannot be used" screen for a used link and for an unknown one', async () => {
      const code = goodCode();
      await onboarding(`${location.origin}/partner#code=${code}`);
      await endSession();
      const used = await onboarding(`${location.origin}/partner#code=${code}`);
      const unknown = await onboarding(`${location.origin}/partner#code=pbl_${'u'.repeat(26)}`);
      expect(heading(used)).to.equal('This link cannot be used');
      expect(used.shadowRoot!.textContent).to.equal(unknown.shadowRoot!.textContent);
      await expect(used).to.be.accessible();
    });

    it('says the session ended when there is no code and no portal session, and asks for a new link', async () => {
      const el = await onboarding(`${location.origin}/partner`);
      expect(heading(el)).to.equal('Your session has ended');
      expect(part(el, 'message')!.textContent).to.contain('new link');
      await expect(el).to.be.accessible();
    });

    it('offers a retry when the server cannot be reached, with the same code', async () => {
      const el = await onboarding(`${location.origin}/partner#code=pbl_down${'x'.repeat(22)}`);
      expect(heading(el)).to.equal('The invitation could not be opened');
      expect(part(el, 'message')!.getAttribute('role')).to.equal('alert');
      await expect(el).to.be.accessible();
    });

    it('accepts only well-formed codes from a fragment', () => {
      expect(linkCodeOf(`https://x.example/partner#code=pbl_${'a'.repeat(24)}`)).to.equal(`pbl_${'a'.repeat(24)}`);
      for (const url of [
        'https://x.example/partner',
        'https://x.example/partner?code=pbl_aaaaaaaaaaaaaaaaaaaaaaaa',
        'https://x.example/partner#code=pbk_aaaaaaaaaaaaaaaaaaaaaaaa',
        'https://x.example/partner#code=pbl_<script>',
      ]) {
        expect(linkCodeOf(url), url).to.equal(null);
      }
    });
  });

  describe('the walk-through', () => {
    it('goes welcome → details → keys → events → done, accessible at every step, with the focus on each step’s heading', async () => {
      const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      const seen: string[] = [];
      el.addEventListener('patchbay-onboarding-step', (event) => seen.push(event.detail.step));

      button(el, 'Get started').click();
      await waitUntil(() => el.step === 'details');
      await el.updateComplete;
      expect(focusedPart(el)).to.equal('heading');
      expect(part(el, 'steps')!.querySelector('[aria-current="step"]')!.textContent).to.equal('Your app');
      const appName = el.shadowRoot!.querySelector<HTMLInputElement>('#appName')!;
      expect(appName.value).to.equal('Shipfast', 'prefilled from the link');
      await expect(el).to.be.accessible();

      el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'ops@shipfast.example';
      button(el, 'Save and continue').click();
      await waitUntil(() => el.step === 'keys');
      await expect(el).to.be.accessible();

      button(el, 'Continue').click();
      await waitUntil(() => el.step === 'events');
      await expect(el).to.be.accessible();

      el.shadowRoot!.querySelector<HTMLFormElement>('form')!.requestSubmit();
      await waitUntil(() => el.step === 'done');
      await expect(el).to.be.accessible();
      expect(seen).to.deep.equal(['details', 'keys', 'events', 'done']);
    });

    it('keeps the partner on the details form with the server’s message when the contact is refused', async () => {
      const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      button(el, 'Get started').click();
      await waitUntil(() => el.step === 'details');
      el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.removeAttribute('type');
      el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'not-an-email';
      const error = oneEvent(el, 'patchbay-error');
      button(el, 'Save and continue').click();
      expect((await error).detail.code).to.equal('invalid_request');
      await el.updateComplete;
      expect(el.step).to.equal('details');
      expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('contact: not an email address');
    });
  });

  describe('keys', () => {
    const row = (el: PartnerOnboarding, environment: string) => el.shadowRoot!.querySelector<HTMLElement>(`[data-environment="${environment}"]`)!;

    it('offers one key per environment and shows a new key once, with a copy button and a warning', async () => {
      const el = await atKeys();
      expect(['dev', 'stage', 'prod'].map((env) => row(el, env).querySelector('strong')!.textContent)).to.deep.equal(['Development', 'Staging', 'Production']);
      row(el, 'dev').querySelector('button')!.click();
      await waitUntil(() => row(el, 'dev').querySelector('[part~="key"]'), 'the key is shown');
      const key = row(el, 'dev').querySelector<HTMLInputElement>('[part~="key"]')!.value;
      expect(key).to.match(/^pbp_[0-9A-Za-z]{28}$/);
      expect(row(el, 'dev').querySelector('[part~="warning"]')!.textContent).to.contain('will not be shown again');
      expect(row(el, 'dev').querySelector('[part~="copy"]')).to.not.equal(null);
      await expect(el).to.be.accessible();

      button(el, 'Continue').click();
      await waitUntil(() => el.step === 'events');
      button(el, 'Back').click();
      await waitUntil(() => el.step === 'keys');
      expect(row(el, 'dev').querySelector('[part~="key"]')).to.equal(null, 'gone once the partner left the step');
      expect(el.shadowRoot!.innerHTML).to.not.contain(key);
      expect(row(el, 'dev').textContent).to.contain(key.slice(0, 10));
    });

    it('rotates a key with the grace period the partner chose, and shows the new key once', async () => {
      const el = await atKeys();
      row(el, 'prod').querySelector('button')!.click();
      await waitUntil(() => row(el, 'prod').querySelector('[part~="key"]'));
      const first = row(el, 'prod').querySelector<HTMLInputElement>('[part~="key"]')!.value;
      button(el, 'Continue').click();
      await waitUntil(() => el.step === 'events');
      button(el, 'Back').click();
      await waitUntil(() => el.step === 'keys');
      const grace = row(el, 'prod').querySelector<HTMLSelectElement>('select')!;
      grace.value = '604800';
      button(el, 'Rotate key').click();
      await waitUntil(() => row(el, 'prod').querySelector('[part~="key"]'));
      const second = row(el, 'prod').querySelector<HTMLInputElement>('[part~="key"]')!.value;
      expect(second).to.not.equal(first);
      expect((await portalOf()).lastGrace).to.equal(604800);
      await expect(el).to.be.accessible();
    });
  });

  describe('events', () => {
    it('offers publish only for topics granted to send and consume only for topics granted to receive, and saves the choice', async () => {
      const el = await atKeys();
      button(el, 'Continue').click();
      await waitUntil(() => el.step === 'events');
      const boxes = [...el.shadowRoot!.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')].map((box) => `${box.name} ${box.value}`);
      expect(boxes).to.deep.equal(['consume app/order/*', 'publish app/shipment/created', 'publish app/shipment/updated', 'consume app/shipment/updated']);
      el.shadowRoot!.querySelector<HTMLInputElement>('input[name="publish"][value="app/shipment/created"]')!.click();
      el.shadowRoot!.querySelector<HTMLInputElement>('input[name="consume"][value="app/order/*"]')!.click();
      button(el, 'Save and continue').click();
      await waitUntil(() => el.step === 'done');
      expect((await portalOf()).subscriptions).to.deep.equal({ publish: ['app/shipment/created'], consume: ['app/order/*'] });
      const snippet = part(el, 'snippet')!.textContent!;
      expect(snippet).to.contain('http://localhost:4400/v1/events').and.to.contain('app/shipment/created').and.to.contain('$PATCHBAY_PARTNER_KEY');
    });
  });

  describe('on a phone-wide screen', () => {
    it('keeps the German events step inside its card: long topics wrap, and Back and Save stay apart', async () => {
      await setViewport({ width: 360, height: 640 });
      try {
        const el = await fixture<PartnerOnboarding>(
          html`<partner-onboarding lang="de" link=${`${location.origin}/partner#code=${goodCode()}`} server=${location.origin}></partner-onboarding>`,
        );
        // Through the steps with each one's primary button, whatever its German label.
        const next = async (step: string) => {
          part(el, 'primary')!.click();
          await waitUntil(() => el.step === step, `at ${step}`);
        };
        await waitUntil(() => el.step === 'welcome', 'redeemed');
        await next('details');
        el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'ops@shipfast.example';
        await next('keys');
        await next('events');
        const card = part(el, 'base')!;
        const contentRight = card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
        const table = el.shadowRoot!.querySelector('table')!.getBoundingClientRect();
        expect(table.right, 'the table ends inside the card’s padding').to.be.at.most(contentRight + 0.5);
        const [back, save] = [...el.shadowRoot!.querySelectorAll('.nav button')].map((b) => b.getBoundingClientRect());
        const apart = back!.right <= save!.left || back!.bottom <= save!.top;
        expect(apart, `Back ${JSON.stringify(back)} and Save ${JSON.stringify(save)} overlap`).to.equal(true);
      } finally {
        await setViewport({ width: 800, height: 600 });
      }
    });
  });

  describe('as a guest on a host page', () => {
    it('leaves the focus where the page has it on load, and moves it to the heading only when the partner moves on', async () => {
      const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      await el.updateComplete;
      expect(focusedPart(el)).to.equal(null, 'loading the portal does not pull the focus (or scroll the host page)');
      button(el, 'Get started').click();
      await waitUntil(() => el.step === 'details');
      await el.updateComplete;
      expect(focusedPart(el)).to.equal('heading');
    });

    it('keeps its portal when the host moves it elsewhere in the page, without redeeming the used link again', async () => {
      const el = await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      const elsewhere = document.createElement('div');
      document.body.append(elsewhere);
      elsewhere.append(el);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(el.step).to.equal('welcome');
      expect(heading(el)).to.equal('Acme Logistics invites you');
      elsewhere.remove();
    });

    it('puts legible text on the workspace colour in the dark scheme too (WCAG AA, 4.5:1)', async () => {
      const el = await fixture<PartnerOnboarding>(
        html`<partner-onboarding theme="dark" link=${`${location.origin}/partner#code=${goodCode()}`} server=${location.origin}></partner-onboarding>`,
      );
      await waitUntil(() => el.step === 'welcome');
      await el.updateComplete;
      const monogram = getComputedStyle(el.shadowRoot!.querySelector('.monogram')!);
      expect(monogram.backgroundColor).to.equal('rgb(15, 118, 110)', 'the workspace colour (#0f766e)');
      expect(contrastRatio(hexOf(monogram.color), hexOf(monogram.backgroundColor))).to.be.at.least(4.5);
    });
  });

  describe('returning', () => {
    it('comes back to its portal session without a code while the session lasts', async () => {
      await onboarding(`${location.origin}/partner#code=${goodCode()}`);
      const again = await onboarding(`${location.origin}/partner`);
      expect(again.step).to.equal('welcome');
    });
  });
});

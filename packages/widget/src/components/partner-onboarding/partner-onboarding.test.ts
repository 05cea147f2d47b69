import { expect, fixture, html, oneEvent, waitUntil } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { PartnerOnboarding } from './partner-onboarding.component.js';
import { linkCodeOf } from './partner-onboarding.component.js';
import './partner-onboarding.js';
import { contrastRatio } from '../../internal/contrast.js';
import { endPortalSession, newPortal, portalLink, portalState } from '../../test-support/stand-in.js';

/** `rgb(r, g, b)` from getComputedStyle as `#rrggbb`. */
const hexOf = (rgb: string) =>
  `#${rgb
    .match(/\d+/g)!
    .slice(0, 3)
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join('')}`;

/** Each test's own pretend Patchbay server (mocks/portal.ts): its partner, links and portal session. */
let portal: { id: string; server: string };
/** A link the server redeems once. */
const freshLink = () => portalLink(portal.id);

const part = <T extends HTMLElement = HTMLElement>(el: PartnerOnboarding, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);
/** The part name of the focused element inside the component (a string: a failing assertion prints it). */
const focusedPart = (el: PartnerOnboarding) => el.shadowRoot!.activeElement?.getAttribute('part') ?? null;
const heading = (el: PartnerOnboarding) => part(el, 'heading')?.textContent?.trim();
const button = (el: PartnerOnboarding, text: string) =>
  [...el.shadowRoot!.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent!.trim() === text)!;

/** Redeems a fresh link and fills in the details step, as a partner would, up to the keys step. */
async function atKeys() {
  const el = await onboarding(await freshLink());
  button(el, 'Get started').click();
  await waitUntil(() => el.step === 'details');
  el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'ops@shipfast.example';
  button(el, 'Save and continue').click();
  await waitUntil(() => el.step === 'keys');
  return el;
}

async function onboarding(link: string) {
  const el = await fixture<PartnerOnboarding>(html`<partner-onboarding link=${link} server=${portal.server}></partner-onboarding>`);
  await waitUntil(() => el.shadowRoot!.querySelector('[part~="heading"]'), 'a screen with a heading');
  return el;
}

describe('<partner-onboarding>', () => {
  beforeEach(async () => {
    portal = await newPortal();
  });

  describe('the link', () => {
    it('reads the code from the address bar’s fragment, removes it before anything else, and redeems it', async () => {
      const code = linkCodeOf(await freshLink())!;
      const before = location.href;
      history.replaceState(null, '', `${location.pathname}${location.search}#code=${code}`);
      const steps: string[] = [];
      document.addEventListener('patchbay-onboarding-step', (event) => steps.push(event.detail.step), { once: true });
      const el = await fixture<PartnerOnboarding>(html`<partner-onboarding server=${portal.server}></partner-onboarding>`);
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
      const el = await onboarding(await freshLink());
      expect(el.step).to.equal('welcome');
      expect(location.href).to.equal(before);
    });

    it('shows one "cannot be used" screen for a used link and for an unknown one', async () => {
      const link = await freshLink();
      await onboarding(link);
      await endPortalSession(portal.id);
      const used = await onboarding(link);
      const unknown = await onboarding(await portalLink(portal.id, 'unknown'));
      expect(heading(used)).to.equal('This link cannot be used');
      expect(used.shadowRoot!.textContent).to.equal(unknown.shadowRoot!.textContent);
      await expect(used).to.be.accessible();
    });

    it('says the session ended when there is no code and no portal session, and asks for a new link', async () => {
      const el = await onboarding(`${portal.server}/partner`);
      expect(heading(el)).to.equal('Your session has ended');
      expect(part(el, 'message')!.textContent).to.contain('new link');
      await expect(el).to.be.accessible();
    });

    it('offers a retry when the server cannot be reached, with the same code', async () => {
      // Every request fails as a dropped network does (fetch rejects).
      portal = await newPortal({ unreachableFor: 1000 });
      const el = await onboarding(await freshLink());
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
      const el = await onboarding(await freshLink());
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
      const el = await onboarding(await freshLink());
      button(el, 'Get started').click();
      await waitUntil(() => el.step === 'details');
      el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.removeAttribute('type');
      el.shadowRoot!.querySelector<HTMLInputElement>('#contact')!.value = 'not-an-email';
      const error = oneEvent(el, 'patchbay-error');
      button(el, 'Save and continue').click();
      expect((await error).detail.code).to.equal('invalid_request');
      await el.updateComplete;
      expect(el.step).to.equal('details');
      expect(el.shadowRoot!.querySelector('[role="alert"]')!.textContent).to.contain('contact: Invalid email address');
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
      const prod = (await portalState(portal.id)).keys.find((key) => key.environment === 'prod')!;
      const graceMs = Date.parse(prod.previousExpiresAt!) - Date.now();
      expect(graceMs, 'the old key works for the chosen week').to.be.within(604_800_000 - 60_000, 604_800_000);
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
      expect((await portalState(portal.id)).subscriptions).to.deep.equal({ publish: ['app/shipment/created'], consume: ['app/order/*'] });
      const snippet = part(el, 'snippet')!.textContent!;
      expect(snippet)
        .to.contain('https://patchbay.acme-logistics.example/v1/events')
        .and.to.contain('app/shipment/created')
        .and.to.contain('$PATCHBAY_PARTNER_KEY');
    });
  });

  describe('on a phone-wide screen', () => {
    it('keeps the German events step inside its card: long topics wrap, and Back and Save stay apart', async () => {
      await setViewport({ width: 360, height: 640 });
      try {
        const el = await fixture<PartnerOnboarding>(
          html`<partner-onboarding lang="de" link=${await freshLink()} server=${portal.server}></partner-onboarding>`,
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
      const el = await onboarding(await freshLink());
      await el.updateComplete;
      expect(focusedPart(el)).to.equal(null, 'loading the portal does not pull the focus (or scroll the host page)');
      button(el, 'Get started').click();
      await waitUntil(() => el.step === 'details');
      await el.updateComplete;
      expect(focusedPart(el)).to.equal('heading');
    });

    it('keeps its portal when the host moves it elsewhere in the page, without redeeming the used link again', async () => {
      const el = await onboarding(await freshLink());
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
        html`<partner-onboarding theme="dark" link=${await freshLink()} server=${portal.server}></partner-onboarding>`,
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
      await onboarding(await freshLink());
      const again = await onboarding(`${portal.server}/partner`);
      expect(again.step).to.equal('welcome');
    });
  });
});

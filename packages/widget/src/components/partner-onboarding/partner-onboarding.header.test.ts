import { expect, fixture, html, waitUntil } from '@open-wc/testing';
import { setViewport } from '@web/test-runner-commands';
import type { PartnerOnboarding } from './partner-onboarding.component.js';
import './partner-onboarding.js';
import { newPortal, portalLink } from '../../test-support/stand-in.js';

const part = <T extends Element = HTMLElement>(el: PartnerOnboarding, name: string) => el.shadowRoot!.querySelector<T>(`[part~="${name}"]`);

/** `<partner-onboarding>` redeemed on a pretend server whose partner has this branding (mocks/portal.ts). */
async function onboardingWith(partnerBranding: { color?: string | null; icon?: string | null; owner?: string | null }) {
  const portal = await newPortal({ partnerBranding });
  const el = await fixture<PartnerOnboarding>(html`<partner-onboarding link=${await portalLink(portal.id)} server=${portal.server}></partner-onboarding>`);
  await waitUntil(() => el.step === 'welcome', 'redeemed');
  return el;
}

/** `rgb(r, g, b)` from getComputedStyle as `#rrggbb`. */
const hexOf = (rgb: string) =>
  `#${rgb
    .match(/\d+/g)!
    .slice(0, 3)
    .map((n) => Number(n).toString(16).padStart(2, '0'))
    .join('')}`;

describe('<partner-onboarding> header: the partner’s branding', () => {
  afterEach(() => setViewport({ width: 800, height: 600 }));

  it('shows the partner’s icon with alt text, its colour as the accent and its owner, and is accessible', async () => {
    const el = await onboardingWith({ color: '#1d4ed8', owner: 'ops@shipfast.example' });
    const icon = part<HTMLImageElement>(el, 'partner-icon')!;
    expect(icon.tagName).to.equal('IMG');
    expect(icon.alt).to.equal('Shipfast logo');
    await waitUntil(() => icon.complete && icon.naturalWidth > 0, 'the icon loads');
    expect(part(el, 'owner')!.textContent).to.equal('Owner: ops@shipfast.example');
    expect(part(el, 'partner')!.textContent).to.contain('Shipfast');
    expect(hexOf(getComputedStyle(part(el, 'partner')!).borderInlineStartColor)).to.equal('#1d4ed8');
    expect(part(el, 'header')!.textContent).to.contain('Acme Logistics', 'the workspace stays in the header');
    await expect(el).to.be.accessible();
  });

  it('falls back to the partner’s initial on its colour when the icon fails to load, never a broken image', async () => {
    const el = await onboardingWith({ color: '#1d4ed8', icon: 'broken' });
    await waitUntil(() => part(el, 'partner-icon')?.tagName === 'SPAN', 'the fallback replaces the image');
    const fallback = part(el, 'partner-icon')!;
    expect(fallback.textContent!.trim()).to.equal('S');
    expect(fallback.getAttribute('aria-hidden')).to.equal('true', 'the name beside it says it already');
    expect(hexOf(getComputedStyle(fallback).backgroundColor)).to.equal('#1d4ed8');
    expect(el.shadowRoot!.querySelector('img[part~="partner-icon"]')).to.equal(null);
    await expect(el).to.be.accessible();
  });

  it('shows no owner line and a neutral accent when the workspace set neither', async () => {
    const el = await onboardingWith({ color: null, icon: null, owner: null });
    expect(part(el, 'owner')).to.equal(null);
    expect(part(el, 'partner-icon')!.tagName).to.equal('SPAN');
    expect(getComputedStyle(part(el, 'partner')!).borderInlineStartStyle).to.equal('solid');
  });

  it('fits a 360 px phone: nothing overflows the header, a long owner wraps', async () => {
    await setViewport({ width: 360, height: 740 });
    const el = await onboardingWith({ owner: 'partnerships-and-integrations-team@shipfast-logistics.example' });
    const header = part(el, 'header')!;
    expect(header.scrollWidth).to.be.at.most(header.clientWidth + 1);
    const partner = part(el, 'partner')!.getBoundingClientRect();
    expect(partner.right).to.be.at.most(header.getBoundingClientRect().right + 1);
  });
});

import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html, nothing } from 'lit';
import { expect, waitFor } from 'storybook/test';
import '../packages/widget/src/components/partner-onboarding/partner-onboarding.js';
import type { OnboardingStep, PartnerOnboarding } from '../packages/widget/src/components/partner-onboarding/partner-onboarding.component.js';
import { mockPartnerPortal, type MockLinkState, type MockPortalOptions } from './mock-server.js';

interface Args {
  locale: string;
  theme: 'auto' | 'light' | 'dark';
  /** Listed in the table only: each render makes its own (see `render`). */
  server?: string;
  link?: string;
}

/** What a story's pretend server holds, and the link the element gets (`null`: none, the partner comes back to `/partner`). */
interface Scenario extends MockPortalOptions {
  link?: MockLinkState | null;
}

/** Each render gets its own pretend server and a fresh one-time link, so a re-render is not a second redemption. */
function render(args: Args, scenario: Scenario = {}) {
  const portal = mockPartnerPortal(scenario);
  const link = scenario.link === null ? `${portal.server}/partner` : portal.link(scenario.link);
  return html`<partner-onboarding server=${portal.server} link=${link} locale=${args.locale || nothing} theme=${args.theme}></partner-onboarding>`;
}

const shadow = <T extends Element = HTMLElement>(el: PartnerOnboarding, selector: string) => el.shadowRoot!.querySelector<T>(selector);

/** The story's element, once it has left the loading screen. */
async function onboardingIn(canvasElement: HTMLElement): Promise<PartnerOnboarding> {
  const el = canvasElement.querySelector('partner-onboarding')!;
  await waitFor(() => expect(shadow(el, '[part~="heading"]')).not.toBeNull());
  return el;
}

const STEPS: OnboardingStep[] = ['welcome', 'details', 'keys', 'events', 'done'];

/**
 * Walks as a partner would, with each step's primary button (Get started, Save and continue,
 * Continue), up to `step`. On the details form it fills in a contact when there is none: the
 * server requires one. Clicks and values go through the shadow root, in any language.
 */
async function walkTo(el: PartnerOnboarding, step: OnboardingStep): Promise<void> {
  await waitFor(() => expect(el.step).not.toBeNull());
  while (STEPS.indexOf(el.step!) < STEPS.indexOf(step)) {
    const from = el.step;
    const contact = shadow<HTMLInputElement>(el, '#contact');
    if (contact && !contact.value) contact.value = 'ops@shipfast.example';
    shadow(el, '[part~="primary"]')!.click();
    await waitFor(() => expect(el.step).not.toBe(from));
  }
}

/** A story that starts at `step`: the play function walks there. */
function at(step: OnboardingStep, scenario: Scenario = {}, then?: (el: PartnerOnboarding) => Promise<void>): StoryObj<Args> {
  return {
    render: (args) => render(args, scenario),
    play: async ({ canvasElement }) => {
      const el = await onboardingIn(canvasElement);
      await walkTo(el, step);
      await then?.(el);
    },
    // Docs pages play it too, so each example there shows the step it names.
    parameters: { docs: { story: { autoplay: true } } },
  };
}

/** Creates the `environment` key on the keys step and waits until it is shown. */
const createKey = (environment: 'dev' | 'stage' | 'prod') => async (el: PartnerOnboarding) => {
  shadow(el, `[data-environment="${environment}"] [part~="button"]`)!.click();
  await waitFor(() => expect(shadow(el, `[data-environment="${environment}"] [part~="key"]`)).not.toBeNull());
};

/** A partner who finished onboarding a week ago: details, three keys (prod just rotated), topics chosen. */
const returning: Scenario = {
  link: null,
  signedIn: true,
  partner: { contact: 'ops@shipfast.example' },
  keys: [{ environment: 'dev' }, { environment: 'stage' }, { environment: 'prod', previousValidForHours: 20 }],
  subscriptions: { publish: ['app/shipment/created'], consume: ['app/order/*'] },
};

const meta: Meta<Args> = {
  title: 'Components/partner-onboarding',
  component: 'partner-onboarding',
  args: { locale: '', theme: 'auto' },
  argTypes: {
    theme: { control: 'inline-radio', options: ['auto', 'light', 'dark'] },
    locale: { control: 'select', options: ['', 'en', 'de', 'fr', 'es', 'ja'] },
    server: { control: false, description: 'Set by each story: its own pretend server (stories/mock-server.ts).' },
    link: { control: false, description: 'Set by each story: a fresh one-time link on its pretend server, or none.' },
  },
  render: (args) => render(args),
  parameters: {
    actions: { handles: ['patchbay-onboarding-step', 'patchbay-error'] },
    docs: {
      // Each example in its own frame, as on the partner's page: the component focuses its heading
      // on every screen, which inline would scroll the docs page to whichever example loaded last.
      story: { inline: false, iframeHeight: 760 },
      description: {
        component:
          'Backed by the in-browser mock server (stories/mock-server.ts): each story has its own pretend Patchbay server answering the partner portal endpoints of docs/partners.md, with a one-time link to redeem. Stories that start at a later step walk there in their play function, as a partner would.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

/** Step 1: the link is redeemed; the workspace's name and colour, and the host's invitation sentence. */
export const Welcome: Story = {};

/** Redeeming the link: the server has not answered yet (here it never does). */
export const Opening: Story = { name: 'Opening the link', render: (args) => render(args, { latencyMs: Infinity }) };

/** Step 1 for a workspace with its own icon and colour, whose invite has no sentence: the component says its own. */
export const WorkspaceBranding: Story = {
  name: 'Welcome: workspace icon, colour, no invitation text',
  render: (args) =>
    render(args, {
      invitation: '',
      workspace: {
        name: 'Northwind Freight',
        color: '#b45309',
        iconUrl: `data:image/svg+xml,${encodeURIComponent('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#b45309"/><path d="M8 22V10l8 8 8-8v12" fill="none" stroke="#fff" stroke-width="3" stroke-linejoin="round"/></svg>')}`,
      },
    }),
};

/** The header: the partner's icon, its colour as the accent beside it, and its owner, from the metadata the workspace set (`PATCH /v1/partners/{id}`). */
export const PartnerBranding: Story = {
  name: 'Header: partner icon, colour and owner',
  render: (args) => render(args, { partnerBranding: { color: '#1d4ed8', owner: 'partnerships@acme-logistics.example' } }),
};

/** The partner's icon failed to load: its initial on its colour instead, never a broken image. */
export const PartnerIconFailed: Story = {
  name: 'Header: partner icon fails to load',
  render: (args) => render(args, { partnerBranding: { color: '#7c3aed', icon: 'broken', owner: 'Partner team' } }),
};

/** A partner with no metadata: a neutral accent and its initial, no owner line. */
export const PartnerUnbranded: Story = {
  name: 'Header: partner without metadata',
  render: (args) => render(args, { partnerBranding: { color: null, icon: null, owner: null } }),
};

/** Step 2: the app's details, prefilled from the invite; the contact is the partner's to give. */
export const Details: Story = at('details');

/** Step 2 after the server refused the contact (`400 invalid_request`): the partner stays, with the server's message. */
export const DetailsRefused: Story = {
  ...at('details', {}, async (el) => {
    // The browser's own check lets `ops@shipfast` through; the server's does not.
    shadow<HTMLInputElement>(el, '#contact')!.value = 'ops@shipfast';
    shadow(el, '[part~="primary"]')!.click();
    await waitFor(() => expect(shadow(el, '[role="alert"]')).not.toBeNull());
  }),
  name: 'Details: refused by the server',
};

/** Step 3: one key per environment, none yet. */
export const Keys: Story = at('keys');

/** Step 3 right after creating the development key: shown once, with Copy and the warning. Leaving the step hides it for good. */
export const KeyShownOnce: Story = { ...at('keys', {}, createKey('dev')), name: 'Keys: a new key, shown once' };

/** Step 4: the topics the workspace granted, publish and consume offered only where granted. */
export const Events: Story = at('events');

/** Step 4 when the workspace has granted no topic yet. */
export const EventsNoneGranted: Story = { ...at('events', { grants: [] }), name: 'Events: none granted' };

/** Step 5: the chosen topics saved, and how to call the API with the key. */
export const Done: Story = at('events', {}, async (el) => {
  shadow<HTMLInputElement>(el, 'input[name="publish"][value="app/shipment/created"]')!.click();
  shadow<HTMLInputElement>(el, 'input[name="consume"][value="app/order/*"]')!.click();
  await walkTo(el, 'done');
});

/** An expired link: the server answers `404 link_invalid`, as for every link it will not redeem. */
export const LinkExpired: Story = { name: 'Link expired', render: (args) => render(args, { link: 'expired' }) };

/** A link redeemed once already: the same screen, on purpose (the server tells no more). */
export const LinkUsed: Story = { name: 'Link already used', render: (args) => render(args, { link: 'used' }) };

/** A well-formed code the server never issued: the same screen again. */
export const LinkUnknown: Story = { name: 'Link unknown', render: (args) => render(args, { link: 'unknown' }) };

/** The server could not be reached. Try again redeems the same code, and the pretend network is back by then. */
export const NetworkError: Story = { name: 'Network error', render: (args) => render(args, { unreachableFor: 1 }) };

/** Back on `/partner` with no code after the portal session ended (`401 portal_session_expired`). */
export const SessionEnded: Story = { name: 'Session ended', render: (args) => render(args, { link: null }) };

/** Back on `/partner` with no code while the portal session lasts: the partner's own state, no new link needed. */
export const Returning: Story = { name: 'Returning partner (portal session)', render: (args) => render(args, returning) };

/** A returning partner on the keys step: prefixes only, a rotation with a chosen grace period, the previous prod key still valid. */
export const ReturningKeys: Story = { ...at('keys', returning), name: 'Returning partner: rotate keys' };

/** On a host's own site (listed in `partnerEmbedOrigins`): the session is a token the component holds, sent as a bearer token. */
export const Embedded: Story = { ...at('keys', { embedded: true }, createKey('prod')), name: 'Embedded on a host site (bearer session)' };

/** The dark scheme (`theme="dark"`), on the keys step with a key shown. */
export const Dark: Story = {
  ...at('keys', {}, createKey('dev')),
  name: 'Dark theme',
  args: { theme: 'dark' },
  decorators: [(story) => html`<div style="background: #111827; padding: 24px">${story()}</div>`],
};

/** German from the page's `lang="de"`, with the component's own invitation sentence (the invite has none). */
export const German: Story = {
  render: (args) => html`<div lang="de">${render(args, { invitation: '' })}</div>`,
};

/** German on the events step. */
export const GermanEvents: Story = {
  ...at('events'),
  name: 'German: events',
  render: (args) => html`<div lang="de">${render(args)}</div>`,
};

import type { Meta, StoryObj } from '@storybook/web-components-vite';
import { html, nothing } from 'lit';
import { ref } from 'lit/directives/ref.js';
import '../packages/widget/src/components/connect-button/connect-button.js';
import type { ConnectButton } from '../packages/widget/src/components/connect-button/connect-button.component.js';
import { mockSessionToken, type MockOutcome } from './mock-server.js';

interface Args {
  integration: string;
  'session-token': string;
  reauth: boolean;
  manage: boolean;
  locale: string;
  theme: 'auto' | 'light' | 'dark';
  label: string;
}

/**
 * Clicks the button for the story (`start()` is the public way to do what a click does), so a
 * story can show the state the flow reaches. The mock server's pretend popup plays the user.
 */
const startOnRender = ref((element) => {
  if (!element) return;
  const button = element as ConnectButton;
  void button.updateComplete.then(() => {
    if (button.status === 'idle') button.start();
  });
});

function render(args: Args, options: { start?: boolean } = {}) {
  return html`<connect-button
    integration=${args.integration}
    session-token=${args['session-token']}
    ?reauth=${args.reauth}
    ?manage=${args.manage}
    locale=${args.locale || nothing}
    theme=${args.theme}
    ${options.start ? startOnRender : nothing}
    >${args.label || nothing}</connect-button
  >`;
}

/** Presses Disconnect once the tenant's connections are listed (they load after the first render). */
async function pressDisconnect(button: ConnectButton): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const disconnect = button.shadowRoot?.querySelector<HTMLButtonElement>('[part~="disconnect"]');
    if (disconnect) return disconnect.click();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A story whose button is clicked as it renders, with a fresh session that ends with `outcome`. */
function started(outcome: MockOutcome, delayMs = 700, looksClosed = false): StoryObj<Args> {
  return {
    render: (args) => render({ ...args, 'session-token': mockSessionToken({ outcome, delayMs, looksClosed }) }, { start: true }),
  };
}

const meta: Meta<Args> = {
  title: 'Components/connect-button',
  component: 'connect-button',
  args: {
    integration: 'slack-alerts',
    'session-token': mockSessionToken({ outcome: 'authorized' }),
    reauth: false,
    manage: false,
    locale: '',
    theme: 'auto',
    label: '',
  },
  argTypes: {
    theme: { control: 'inline-radio', options: ['auto', 'light', 'dark'] },
    locale: { control: 'select', options: ['', 'en', 'de', 'fr', 'es', 'ja'] },
    label: {
      name: 'label (default slot)',
      description: 'A custom label for the idle state, in the default slot.',
      control: 'text',
      table: { category: 'slots' },
    },
  },
  render: (args) => render(args),
  parameters: {
    docs: {
      description: {
        component:
          'Backed by the in-browser mock server (stories/mock-server.ts): clicking runs the whole flow against pretend session endpoints, and a pretend popup signs in after a moment.',
      },
    },
  },
};
export default meta;

type Story = StoryObj<Args>;

/** Before the click: the session token is set, nothing has happened. Click it to run the flow. */
export const Idle: Story = {};

/** Waiting for the user in the popup (the pretend user never finishes here). */
export const Connecting: Story = started('pending');

/**
 * The sign-in window looks closed while the server still waits for the person (a provider's
 * Cross-Origin-Opener-Policy does this, as does closing the window): not a cancel. The status area
 * offers Reopen sign-in window and Cancel (parts `reopen` and `cancel`).
 */
export const WindowLooksClosed: Story = { name: 'Window looks closed', ...started('pending', 0, true) };

/** The user signed in: the widget committed the session, the install is ready, `patchbay-connected` fired. */
export const Connected: Story = started('authorized', 300);

/** The host forces Reconnect with the `reauth` attribute, whatever the server says. */
export const NeedsReauth: Story = { name: 'Needs re-auth (reauth override)', args: { reauth: true } };

/** On load, from the server: the tenant is connected, and the button names the connection. */
export const LoadedConnected: Story = { name: 'On load: connected', args: { 'session-token': mockSessionToken({ tenant: 'connected' }) } };

/** On load, from the server: the connection's credentials will need the person within days. */
export const LoadedExpiring: Story = { name: 'On load: expiring soon', args: { 'session-token': mockSessionToken({ tenant: 'expiring' }) } };

/** On load, from the server: the connection must be authorized again; a click re-authorizes it. */
export const LoadedNeedsReauth: Story = { name: 'On load: needs re-auth', args: { 'session-token': mockSessionToken({ tenant: 'needs_reauth' }) } };

/** The session token has expired: a clear message (and `patchbay-error` session_expired), no spinner. */
export const SessionExpired: Story = { name: 'On load: session expired', args: { 'session-token': mockSessionToken({ tenant: 'expired' }) } };

/** `manage`: the tenant's connections with Reconnect and Disconnect (which asks first, inline). */
export const Manage: Story = { name: 'Manage connections', args: { manage: true, 'session-token': mockSessionToken({ tenant: 'connected' }) } };

/** `manage` with Disconnect pressed: the inline confirmation has the focus; Escape cancels. */
export const ManageConfirm: Story = {
  name: 'Manage: confirm disconnect',
  render: (args) => html`<connect-button
    integration=${args.integration}
    session-token=${mockSessionToken({ tenant: 'expiring' })}
    manage
    locale=${args.locale || nothing}
    theme=${args.theme}
    ${ref((element) => {
      if (element) void pressDisconnect(element as ConnectButton);
    })}
  ></connect-button>`,
};

/** The provider failed the sign-in: the button offers to try again and says why. */
export const ErrorState: Story = { name: 'Error', ...started('failed', 300) };

/** The user declined at the provider: nothing was connected, the button can be used again. */
export const Cancelled: Story = started('cancelled', 300);

/** A host's own label in the default slot, shown while idle. */
export const CustomLabel: Story = { name: 'Custom label', args: { label: 'Connect Slack' } };

/** The texts follow the nearest `lang` or the `locale` property. */
export const German: Story = { args: { locale: 'de' } };

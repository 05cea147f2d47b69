// Types for the Patchbay elements in JSX: which properties and events React may pass to them.
import type {
  ConnectButton,
  ConnectorPicker,
  PatchbayCancelEvent,
  PatchbayConnectedEvent,
  PatchbayErrorEvent,
  PatchbayRequestConnectEvent,
  PatchbayStepEvent,
} from '@patchbay/widget';
import type { DetailedHTMLProps, HTMLAttributes } from 'react';

type ElementProps<E extends HTMLElement, Props extends keyof E> = DetailedHTMLProps<HTMLAttributes<E>, E> &
  Partial<Pick<E, Props>> & {
    'onpatchbay-connected'?: (event: PatchbayConnectedEvent) => void;
    'onpatchbay-cancel'?: (event: PatchbayCancelEvent) => void;
    'onpatchbay-error'?: (event: PatchbayErrorEvent) => void;
    'onpatchbay-step'?: (event: PatchbayStepEvent) => void;
  };

declare module 'react' {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace JSX {
    interface IntrinsicElements {
      'connect-button': ElementProps<ConnectButton, 'integration' | 'sessionToken' | 'server' | 'reauth' | 'locale' | 'theme'>;
      'connector-picker': ElementProps<ConnectorPicker, 'integration' | 'sessionToken' | 'server' | 'open' | 'placement' | 'locale' | 'theme'> & {
        'onpatchbay-request-connect'?: (event: PatchbayRequestConnectEvent) => void;
      };
    }
  }
}

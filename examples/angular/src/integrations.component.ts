import { Component, CUSTOM_ELEMENTS_SCHEMA, signal, type OnInit } from '@angular/core';
import type { PatchbayConnectedEvent, PatchbayErrorEvent } from '@patchbay/widget';

interface PatchbaySession {
  /** The session token from your backend: `POST {server}/v1/integrations/{id}/session` with its access key. */
  token: string;
  /** Your Patchbay server's origin. */
  server: string;
}

@Component({
  selector: 'app-integrations',
  // Lets the template use <connect-button>, which Angular does not know as one of its components.
  schemas: [CUSTOM_ELEMENTS_SCHEMA],
  // [sessionToken] sets the element's property; (patchbay-connected) listens to its DOM event.
  template: `
    @if (session(); as session) {
      <main>
        <h1>Integrations</h1>
        <p>Connect your Acme account.</p>
        <connect-button
          integration="acme-sync"
          [server]="session.server"
          [sessionToken]="session.token"
          (patchbay-connected)="onConnected($event)"
          (patchbay-cancel)="onCancel()"
          (patchbay-error)="onError($event)"
        ></connect-button>
        <p id="status" role="status">{{ message() }}</p>
      </main>
    } @else {
      <p role="status">{{ message() || 'Loading…' }}</p>
    }
  `,
})
export class IntegrationsComponent implements OnInit {
  readonly session = signal<PatchbaySession | null>(null);
  readonly message = signal('');

  /** Asks your own backend for a session; the access key stays there. */
  async ngOnInit(): Promise<void> {
    const response = await fetch('/api/patchbay-session', { method: 'POST' });
    if (response.ok) this.session.set((await response.json()) as PatchbaySession);
    else this.message.set(`The backend answered ${response.status}.`);
  }

  onConnected(event: Event): void {
    const { installId, tenantId } = (event as PatchbayConnectedEvent).detail;
    this.message.set(`Connected: install ${installId} for tenant ${tenantId}.`);
  }

  onCancel(): void {
    this.message.set('Cancelled. Nothing was connected.');
  }

  onError(event: Event): void {
    this.message.set(`Could not connect: ${(event as PatchbayErrorEvent).detail.message}`);
  }
}

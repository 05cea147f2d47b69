import { useEffect, useState } from 'react';
import type { PatchbayConnectedEvent } from '@patchbay/widget';
import './patchbay-elements.js';

interface PatchbaySession {
  /** The session token from your backend: `POST {server}/v1/integrations/{id}/session` with its access key. */
  token: string;
  /** Your Patchbay server's origin. */
  server: string;
}

/** Asks your own backend for a session; the access key stays there. */
async function openSession(): Promise<PatchbaySession> {
  const response = await fetch('/api/patchbay-session', { method: 'POST' });
  if (!response.ok) throw new Error(`The backend answered ${response.status}.`);
  return (await response.json()) as PatchbaySession;
}

export function App() {
  const [session, setSession] = useState<PatchbaySession | null>(null);
  const [message, setMessage] = useState('');

  useEffect(() => {
    openSession().then(setSession, (error: Error) => setMessage(error.message));
  }, []);

  if (!session) return <p role="status">{message || 'Loading…'}</p>;
  return (
    <main>
      <h1>Integrations</h1>
      <p>Connect your Acme account.</p>
      {/* React 19 sets sessionToken as a property and adds the listeners with addEventListener. */}
      <connect-button
        integration="acme-sync"
        server={session.server}
        sessionToken={session.token}
        onpatchbay-connected={(event: PatchbayConnectedEvent) =>
          setMessage(`Connected: install ${event.detail.installId} for tenant ${event.detail.tenantId}.`)
        }
        onpatchbay-cancel={() => setMessage('Cancelled. Nothing was connected.')}
        onpatchbay-error={(event: CustomEvent<{ message: string }>) => setMessage(`Could not connect: ${event.detail.message}`)}
      />
      <p id="status" role="status">
        {message}
      </p>
    </main>
  );
}

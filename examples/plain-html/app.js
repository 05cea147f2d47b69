// Your page asks your own backend for a session token. The backend opened the session with its
// access key (POST {server}/v1/integrations/acme-sync/session); the key never reaches the browser.
const button = document.getElementById('connect');
const status = document.getElementById('status');

button.addEventListener('patchbay-connected', (event) => {
  status.textContent = `Connected: install ${event.detail.installId} for tenant ${event.detail.tenantId}.`;
});
button.addEventListener('patchbay-cancel', () => {
  status.textContent = 'Cancelled. Nothing was connected.';
});
button.addEventListener('patchbay-error', (event) => {
  status.textContent = `Could not connect: ${event.detail.message}`;
});

const response = await fetch('/api/patchbay-session', { method: 'POST' });
if (response.ok) {
  const { token } = await response.json();
  button.setAttribute('session-token', token);
} else {
  status.textContent = 'Could not start a session.';
}

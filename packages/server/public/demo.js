// The demo host page's script. A real host page gets the session token from its own backend, as here.
const button = document.getElementById('connect');
const status = document.getElementById('status');
const invoke = document.getElementById('invoke');
const result = document.getElementById('result');
const picker = document.getElementById('picker');
const pickerStatus = document.getElementById('picker-status');

async function newSessionToken(integration) {
  const response = await fetch('/demo/host/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ integration }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error?.message ?? 'Could not start a session');
  // Kept for page mode: after the full-page redirect the element resumes the same session.
  sessionStorage.setItem(`patchbay-demo-token-${integration}`, body.token);
  return body.token;
}

/** Gives an element a session token: the saved one when returning from page mode, else a new one. */
async function prepare(element = button) {
  const integration = element.getAttribute('integration');
  const returning = new URLSearchParams(location.search).get('session');
  const saved = sessionStorage.getItem(`patchbay-demo-token-${integration}`);
  element.setAttribute('session-token', returning && saved?.startsWith(`${returning}_`) ? saved : await newSessionToken(integration));
}

// A session connects one app: after each connection the picker gets a fresh one. Both elements
// show one tenant's state, so when either changes it the other reads it again.
picker.addEventListener('patchbay-connected', (event) => {
  pickerStatus.textContent = `Connected ${event.detail.connector} (install ${event.detail.installId}).`;
  void prepare(picker);
  void button.refresh();
});
for (const element of [button, picker]) {
  element.addEventListener('patchbay-disconnected', () => {
    // The button's session may be spent by an earlier connect: a fresh one lets it connect again.
    void prepare(button);
    void picker.refresh();
  });
}
picker.addEventListener('patchbay-cancel', () => void prepare(picker));

button.addEventListener('patchbay-connected', (event) => {
  status.textContent = `Install ${event.detail.installId} is ready for tenant ${event.detail.tenantId}.`;
  invoke.disabled = false;
  void picker.refresh();
});
button.addEventListener('patchbay-cancel', () => {
  status.textContent = 'Cancelled. Click Connect to try again.';
  void prepare();
});
button.addEventListener('patchbay-error', (event) => {
  status.textContent = `Error: ${event.detail.message}`;
});
invoke.addEventListener('click', async () => {
  invoke.disabled = true;
  result.textContent = 'Calling…';
  try {
    const response = await fetch('/demo/host/invoke', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    result.textContent = JSON.stringify(await response.json(), null, 2);
  } finally {
    invoke.disabled = false;
  }
});

prepare().catch((error) => {
  status.textContent = error.message;
});
prepare(picker).catch((error) => {
  pickerStatus.textContent = error.message;
});

// The demo host page's script. A real host page gets the session token from its own backend, as here.
// The components speak for themselves (each has its own status line); the page only reacts.
const button = document.getElementById('connect');
const invoke = document.getElementById('invoke');
const result = document.getElementById('result');
const picker = document.getElementById('picker');

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
async function prepare(element) {
  const integration = element.getAttribute('integration');
  const returning = new URLSearchParams(location.search).get('session');
  const saved = sessionStorage.getItem(`patchbay-demo-token-${integration}`);
  element.setAttribute('session-token', returning && saved?.startsWith(`${returning}_`) ? saved : await newSessionToken(integration));
}

// A session connects one app: after each connection an element gets a fresh one. Both elements
// show one tenant's state, so when either changes it the other reads it again.
const other = (element) => (element === button ? picker : button);
for (const element of [button, picker]) {
  element.addEventListener('patchbay-connected', () => {
    void prepare(element);
    void other(element).refresh();
  });
  element.addEventListener('patchbay-cancel', () => void prepare(element));
  element.addEventListener('patchbay-disconnected', () => void other(element).refresh());
}

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

for (const element of [button, picker]) {
  prepare(element).catch((error) => {
    result.textContent = error.message;
  });
}

// Hands the flow's result to the page that opened this window, then closes it.
// The target origin is exact (never '*'); the widget re-reads the session from the server anyway.
const result = JSON.parse(document.querySelector('meta[name="patchbay-result"]').content);
const openerOrigin = document.querySelector('meta[name="patchbay-opener-origin"]').content;

if (window.opener && openerOrigin) {
  try {
    window.opener.postMessage(result, openerOrigin);
  } catch {
    // The opener navigated elsewhere; the widget's polling still finds the result.
  }
}
if ('BroadcastChannel' in window) {
  const channel = new BroadcastChannel('patchbay');
  channel.postMessage(result);
  channel.close();
}
document.getElementById('close')?.addEventListener('click', () => window.close());
if (window.opener) setTimeout(() => window.close(), result.status === 'authorized' ? 300 : 1500);

// A React 19 host page for the end-to-end tests (bundled by test/resume.test.ts with Vite). The
// widget comes from the server's <script> tag, so React sets `sessionToken` as a property.
// `window.remount()` changes the element's key: React replaces it with a new element, as a route
// change or a re-keyed list does.
import { createElement, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

const root = document.getElementById('root')!;

function App() {
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    (window as unknown as { remount(): void }).remount = () => setGeneration((n) => n + 1);
  }, []);
  return createElement('connect-button', { key: generation, integration: 'acme-sync', server: root.dataset['server'], sessionToken: root.dataset['token'] });
}

createRoot(root).render(createElement(App));

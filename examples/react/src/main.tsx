import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
// Registers <connect-button> and <connector-picker> before React renders them, so React 19 sees
// their properties (sessionToken…) and sets them as properties rather than attributes.
import '@patchbay/widget';
import { App } from './App.js';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

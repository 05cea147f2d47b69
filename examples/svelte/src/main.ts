import { mount } from 'svelte';
// Registers <connect-button> and <connector-picker> before Svelte renders them, so Svelte sees
// their properties and sets sessionToken as a property.
import '@patchbay/widget';
import App from './App.svelte';

mount(App, { target: document.getElementById('app')! });

import { createApp } from 'vue';
// Registers <connect-button> and <connector-picker> before Vue renders them.
import '@patchbay/widget';
import App from './App.vue';

createApp(App).mount('#app');

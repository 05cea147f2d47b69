// The JIT compiler first: it compiles the component's template in the browser.
import '@angular/compiler';
import { provideZonelessChangeDetection } from '@angular/core';
import { bootstrapApplication } from '@angular/platform-browser';
// Registers <connect-button> and <connector-picker> once, before Angular renders them.
import '@patchbay/widget';
import { IntegrationsComponent } from './integrations.component.js';

bootstrapApplication(IntegrationsComponent, { providers: [provideZonelessChangeDetection()] }).catch((error: unknown) => console.error(error));

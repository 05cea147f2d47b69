import { LitElement } from 'lit';
import { property } from 'lit/decorators.js';

/**
 * The base of every Patchbay element: a typed `emit()` and a `define()` that is safe when a host
 * page loads the script twice (the second registration is skipped, not an exception) and when
 * there is no DOM at all (importing in Node defines nothing and throws nothing).
 */
export class PatchbayElement extends LitElement {
  /** Elements this one renders; defined together with it. */
  static dependencies: Record<string, typeof PatchbayElement> = {};

  /** Language of the texts (`de`, `fr-CA`…); defaults to the nearest `lang` attribute. */
  @property() locale = '';

  /** Colour scheme: follows `prefers-color-scheme` unless set to `light` or `dark`. */
  @property({ reflect: true }) theme: 'auto' | 'light' | 'dark' = 'auto';

  static define(tag: string, registry: CustomElementRegistry | undefined = globalThis.customElements): void {
    // No DOM here (Node: SSR, a test runner): importing an element's module defines nothing. A
    // registry without a document is lit's SSR shim, which a page never sees either.
    if (registry === undefined || typeof document === 'undefined') return;
    for (const [dependencyTag, dependency] of Object.entries(this.dependencies)) dependency.define(dependencyTag, registry);
    if (registry.get(tag)) return;
    // A subclass per tag, so the same class can be registered under another name by a host.
    registry.define(tag, class extends this {});
  }

  /** Dispatches a typed, bubbling, composed event and answers it (check `defaultPrevented` for vetoes). */
  emit<K extends keyof GlobalEventHandlersEventMap>(
    type: K,
    detail: GlobalEventHandlersEventMap[K] extends CustomEvent<infer D> ? D : never,
    options: { cancelable?: boolean } = {},
  ): CustomEvent {
    const event = new CustomEvent(type, { bubbles: true, composed: true, cancelable: options.cancelable ?? false, detail });
    this.dispatchEvent(event);
    return event;
  }
}

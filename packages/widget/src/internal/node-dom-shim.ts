/**
 * What the script-tag bundle gives lit's Node-safe build in place of `@lit-labs/ssr-dom-shim`
 * (see the root vite.config.ts). In a browser both are the page's own globals, so nothing changes there. In
 * Node (SSR, a test runner) there is no DOM: `HTMLElement` is an empty class, so `class … extends
 * LitElement` can be evaluated, and there is no registry, so importing the bundle defines nothing
 * (lit's full shim would add 3 KB gzip to every page and install a `customElements` in Node).
 */
export const HTMLElement: typeof globalThis.HTMLElement = globalThis.HTMLElement ?? (class {} as unknown as typeof globalThis.HTMLElement);

export const customElements: CustomElementRegistry | undefined = globalThis.customElements;

/**
 * Loads an element's module the first time the element appears in the document (already there,
 * or added later), so a page pays for a component only when it uses it. Returns the loader, for
 * hosts that create the element inside their own shadow roots, which this cannot see.
 */
export function defineWhenUsed(tag: string, load: () => Promise<unknown>): () => Promise<unknown> {
  let loading: Promise<unknown> | null = null;
  const start = () => (loading ??= load());
  if (typeof document === 'undefined' || customElements.get(tag)) return start;
  const found = (node: Node) => node instanceof Element && (node.localName === tag || node.querySelector(tag) !== null);
  const observer = new MutationObserver((records) => {
    if (records.some((record) => [...record.addedNodes].some(found))) {
      observer.disconnect();
      void start();
    }
  });
  if (document.querySelector(tag)) void start();
  else observer.observe(document, { childList: true, subtree: true });
  return start;
}

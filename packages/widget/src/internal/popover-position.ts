import { autoUpdate, computePosition, flip, offset, shift, size, type Placement } from '@floating-ui/dom';

/**
 * Keeps `panel` next to `anchor` with @floating-ui/dom: flips to the other side near the viewport
 * edge, shifts to stay inside it, and caps the height to the room there is. Loaded on demand
 * (see popover-controller), so it imports only what it uses. Returns the function that stops it.
 */
export function followAnchor(anchor: HTMLElement, panel: HTMLElement, placement: Placement): () => void {
  const place = async () => {
    const position = await computePosition(anchor, panel, {
      placement,
      strategy: 'fixed',
      middleware: [
        offset(6),
        flip({ padding: 8 }),
        shift({ padding: 8 }),
        size({ padding: 8, apply: ({ availableHeight }) => panel.style.setProperty('--_available-height', `${Math.max(160, availableHeight)}px`) }),
      ],
    });
    Object.assign(panel.style, { left: `${position.x}px`, top: `${position.y}px` });
    panel.dataset['placement'] = position.placement;
  };
  // autoUpdate places it now and again on scroll, resize and when either element changes size.
  return autoUpdate(anchor, panel, () => void place());
}

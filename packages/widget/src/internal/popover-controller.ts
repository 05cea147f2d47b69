import type { ReactiveController, ReactiveElement } from 'lit';
import type { Placement } from '@floating-ui/dom';

/**
 * The positioning (@floating-ui/dom) is loaded on the first open, so pages that never open a
 * popover never pay for it and the script-tag bundle stays in its size budget.
 */
let positioning: Promise<typeof import('./popover-position.js')> | null = null;
const loadPositioning = () => (positioning ??= import('./popover-position.js'));

/** An element with a popover: its public, reflected `open` property is the one source of truth. */
export interface PopoverHost extends ReactiveElement {
  open: boolean;
}

export interface PopoverOptions {
  /** The button that opens the popover; focus goes back to it on close. */
  trigger(): HTMLElement | null | undefined;
  /** The floating panel. */
  panel(): HTMLElement | null | undefined;
  /** Where the panel goes when there is room (it flips near the viewport edge). */
  placement(): Placement;
  /** Where the keyboard goes once it is open. */
  initialFocus(): HTMLElement | null | undefined;
  /** Called as it opens, before it renders open (to choose what it shows first). */
  opening?(): void;
}

/**
 * A popover's behaviour, for any element that has one: open and close (`show`, `hide`, the
 * trigger's click and arrow keys), closing on a pointer outside the element, on Escape and on Tab
 * (as a select's list does), focus into the panel on open and back to the trigger on close, and the
 * panel kept next to its trigger while open.
 */
export class PopoverController implements ReactiveController {
  #stopAutoUpdate: (() => void) | null = null;
  /** Whether positioning was started for the open state the last update rendered. */
  #following = false;
  /**
   * show() since the last update: position afresh even when a hide() in between left no change to
   * render (hide and show in one task), as the trigger may have moved meanwhile.
   */
  #shown = false;

  constructor(
    private readonly host: PopoverHost,
    private readonly options: PopoverOptions,
  ) {
    host.addController(this);
  }

  hostUpdated(): void {
    const shown = this.#shown;
    this.#shown = false;
    if (this.host.open === this.#following && !shown) return;
    this.#following = this.host.open;
    if (this.host.open) void this.#startPositioning();
    else this.#stopPositioning();
  }

  hostDisconnected(): void {
    this.#following = false;
    this.#stopPositioning();
  }

  async #startPositioning(): Promise<void> {
    this.#stopPositioning();
    document.addEventListener('pointerdown', this.#onDocumentPointerDown, true);
    const { followAnchor } = await loadPositioning();
    const trigger = this.options.trigger();
    const panel = this.options.panel();
    if (!this.host.open || this.#stopAutoUpdate || !trigger || !panel) return;
    this.#stopAutoUpdate = followAnchor(trigger, panel, this.options.placement());
  }

  #stopPositioning(): void {
    this.#stopAutoUpdate?.();
    this.#stopAutoUpdate = null;
    document.removeEventListener('pointerdown', this.#onDocumentPointerDown, true);
  }

  #onDocumentPointerDown = (event: PointerEvent): void => {
    if (!event.composedPath().includes(this.host)) this.hide({ returnFocus: false });
  };

  /** The trigger's click: opens, or closes when open. */
  onTriggerClick = (): void => {
    if (this.host.open) this.hide();
    else void this.show();
  };

  /** The trigger's keys: an arrow opens it, as on a select. */
  onTriggerKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      void this.show();
    }
  };

  /** Keys inside the panel that close it: Escape (focus back on the trigger), Tab (on to the next control). */
  onPanelKeyDown(event: KeyboardEvent): void {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      this.hide();
    } else if (event.key === 'Tab') {
      // Tab leaves the popover as it leaves a select's list: closed, and on to the next control.
      this.hide();
    }
  }

  /** Opens the popover and puts the keyboard in it. */
  async show(): Promise<void> {
    if (this.host.open) return;
    this.#shown = true;
    this.host.open = true;
    // Shown now, as hide() hides now: the template's binding may not see a change to commit.
    const panel = this.options.panel();
    if (panel) panel.hidden = false;
    this.options.opening?.();
    await this.host.updateComplete;
    this.options.initialFocus()?.focus();
  }

  /** Closes the popover; focus goes back to the trigger unless `returnFocus` is false. */
  hide({ returnFocus = true }: { returnFocus?: boolean } = {}): void {
    if (!this.host.open) return;
    this.host.open = false;
    // Hidden now, not at the next render: a Tab being handled must not land inside the popover.
    const panel = this.options.panel();
    if (panel) panel.hidden = true;
    if (returnFocus) this.options.trigger()?.focus();
  }
}

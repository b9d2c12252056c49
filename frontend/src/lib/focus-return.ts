/**
 * Focus goes back to the control that opened a dialog when it closes (WCAG 2.4.3), instead of
 * dropping to <body>. Used by the shared DialogContent, so every dialog and the palette get it.
 *
 * The control may be gone by then or soon after (Approve… disappears once the run moves on; a
 * control re-renders as another one): focus then moves to the first control left in the closest
 * container that survived (the "Run actions" group), else to the page's main region.
 */

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]):not([type="hidden"]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** How long after closing a removed control still hands its focus on (a projection lands later). */
const GUARD_MS = 10_000;

export interface FocusOrigin {
  element: HTMLElement;
  /** The element's ancestors when the dialog opened, closest first. */
  ancestors: HTMLElement[];
}

/** The focused element and its ancestors, or null when nothing but <body> has focus. */
export function captureFocus(doc: Document = document): FocusOrigin | null {
  const el = doc.activeElement;
  if (!(el instanceof HTMLElement) || el === doc.body || el === doc.documentElement) return null;
  const ancestors: HTMLElement[] = [];
  for (let a = el.parentElement; a && a !== doc.body; a = a.parentElement) ancestors.push(a);
  return { element: el, ancestors };
}

/** Open dialogs (their content element) and where focus goes back to when each closes. */
const openDialogs = new Map<HTMLElement, FocusOrigin | null>();

/**
 * A dialog opened: remembers the focused control. A dialog that replaces another one (the token
 * secret after the create form) finds nothing focused, the other dialog's content having just been
 * removed: it inherits that dialog's origin, so focus still ends on the control that started it all.
 */
export function dialogOpened(content: HTMLElement, doc: Document = document): void {
  let origin = captureFocus(doc);
  if (!origin) {
    for (const [other, o] of openDialogs) if (!other.isConnected && o) origin = o;
  }
  openDialogs.set(content, origin);
}

/** A dialog closed: gives focus back (see restoreFocus). */
export function dialogClosed(content: HTMLElement, doc: Document = document): void {
  const origin = openDialogs.get(content) ?? null;
  openDialogs.delete(content);
  restoreFocus(origin, doc);
}

function focusable(el: HTMLElement): boolean {
  if (!el.isConnected || el.closest("[inert]")) return false;
  if ((el as HTMLButtonElement).disabled) return false;
  return true;
}

/** Where focus goes when `origin.element` is no longer there. */
export function standIn(origin: FocusOrigin, doc: Document = document): HTMLElement | null {
  for (const a of origin.ancestors) {
    if (!a.isConnected) continue;
    const first = Array.from(a.querySelectorAll<HTMLElement>(FOCUSABLE)).find(focusable);
    if (first) return first;
  }
  return doc.getElementById("main") ?? null;
}

function nothingFocused(doc: Document): boolean {
  const a = doc.activeElement;
  return !a || a === doc.body || a === doc.documentElement || !a.isConnected;
}

/**
 * Gives focus back to `origin` (or its stand-in) unless something else took focus meanwhile (a
 * navigation focuses the new page). Retries for a few frames while the control is still disabled
 * by the request that closed the dialog, and for a while after hands focus on if the control is
 * removed while it has it. Returns a function that stops watching.
 */
export function restoreFocus(origin: FocusOrigin | null, doc: Document = document): () => void {
  if (!origin || !nothingFocused(doc)) return () => {};
  const win = doc.defaultView ?? window;
  let current: HTMLElement | null = null;
  let stopped = false;
  let frames = 0;

  const place = () => {
    if (stopped) return;
    const el = origin.element;
    // a control still disabled by the request that closed the dialog gets a few frames to settle
    const target = focusable(el) ? el : el.isConnected && frames < 30 ? null : standIn(origin, doc);
    if (target) {
      current = target;
      target.focus({ preventScroll: true });
      if (doc.activeElement === target) return;
      current = null;
    }
    if (frames++ < 31 && nothingFocused(doc)) win.requestAnimationFrame(place);
  };
  place();

  const observer = new win.MutationObserver(() => {
    if (current && !current.isConnected && nothingFocused(doc)) {
      const next = standIn(origin, doc);
      if (next) {
        current = next;
        next.focus({ preventScroll: true });
        if (doc.activeElement !== next) current = null;
      }
    }
  });
  observer.observe(doc.body, { childList: true, subtree: true });
  const stop = () => {
    stopped = true;
    observer.disconnect();
    win.clearTimeout(timer);
    doc.removeEventListener("focusin", onFocusIn, true);
  };
  // Once the user moves on (focus lands anywhere else), stop watching.
  const onFocusIn = (e: FocusEvent) => {
    if (current && e.target !== current) stop();
  };
  doc.addEventListener("focusin", onFocusIn, true);
  const timer = win.setTimeout(stop, GUARD_MS);
  return stop;
}

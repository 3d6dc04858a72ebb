// Activity pings for the auto-lock timer. Every key press, click or scroll
// counts as activity, but the core only needs to hear about it now and then:
// at most one `touch()` per interval.

/** The least time between two activity pings. */
export const TOUCH_INTERVAL_MS = 30_000;

/** The DOM events that count as the person being active. */
export const ACTIVITY_EVENTS = ["keydown", "pointerdown", "wheel"] as const;

/**
 * Returns `ping()`: call it on every activity; it calls `touch` at once the
 * first time, then at most once per `intervalMs`. A failing `touch` is
 * ignored (the vault may have just locked).
 */
export function activityThrottle(
  touch: () => Promise<unknown> | void,
  intervalMs: number = TOUCH_INTERVAL_MS,
  now: () => number = Date.now,
): () => boolean {
  let last = -Infinity;
  return () => {
    const t = now();
    if (t - last < intervalMs) return false;
    last = t;
    try {
      const result = touch();
      if (result && typeof (result as Promise<unknown>).catch === "function") {
        (result as Promise<unknown>).catch(() => {});
      }
    } catch {
      // Nothing to do: the next ping tries again.
    }
    return true;
  };
}

/** Listens for activity on `target` and pings; returns the function that stops listening. */
export function watchActivity(target: EventTarget, ping: () => unknown): () => void {
  const handler = () => {
    ping();
  };
  for (const name of ACTIVITY_EVENTS) target.addEventListener(name, handler, { passive: true });
  return () => {
    for (const name of ACTIVITY_EVENTS) target.removeEventListener(name, handler);
  };
}

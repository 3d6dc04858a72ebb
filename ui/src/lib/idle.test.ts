import { describe, expect, it } from "vitest";
import { activityThrottle, TOUCH_INTERVAL_MS, watchActivity } from "./idle";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe("activityThrottle", () => {
  it("touches at once, then at most once per 30 seconds", () => {
    expect(TOUCH_INTERVAL_MS).toBe(30_000);
    const c = clock();
    let touches = 0;
    const ping = activityThrottle(() => void touches++, TOUCH_INTERVAL_MS, c.now);

    expect(ping()).toBe(true);
    expect(touches).toBe(1);
    for (let i = 0; i < 50; i++) {
      c.advance(500);
      ping();
    }
    expect(touches).toBe(1); // 25 s of activity: still one
    c.advance(5_000);
    expect(ping()).toBe(true); // 30 s after the first
    expect(touches).toBe(2);
    c.advance(29_999);
    expect(ping()).toBe(false);
    c.advance(1);
    expect(ping()).toBe(true);
    expect(touches).toBe(3);
  });

  it("swallows a failing touch so activity handling never throws", async () => {
    const c = clock();
    const ping = activityThrottle(() => Promise.reject(new Error("locked")), 10, c.now);
    expect(ping()).toBe(true);
    const throwing = activityThrottle(
      () => {
        throw new Error("boom");
      },
      10,
      c.now,
    );
    expect(() => throwing()).not.toThrow();
    await Promise.resolve();
  });
});

describe("watchActivity", () => {
  it("pings on key presses, pointer presses and wheel, and stops when asked", () => {
    const target = new EventTarget();
    let pings = 0;
    const stop = watchActivity(target, () => pings++);
    target.dispatchEvent(new Event("keydown"));
    target.dispatchEvent(new Event("pointerdown"));
    target.dispatchEvent(new Event("wheel"));
    target.dispatchEvent(new Event("mousemove"));
    expect(pings).toBe(3);
    stop();
    target.dispatchEvent(new Event("keydown"));
    expect(pings).toBe(3);
  });
});

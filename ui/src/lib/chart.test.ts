import { describe, expect, it } from "vitest";
import { fillDays, layoutBars } from "./chart";

describe("fillDays", () => {
  it("fills the days without reads and sorts", () => {
    expect(
      fillDays(
        [
          { day: "2026-11-03", reads: 2 },
          { day: "2026-10-31", reads: 5 },
        ],
        90,
        { from: "2026-10-31" },
      ),
    ).toEqual([
      { day: "2026-10-31", reads: 5 },
      { day: "2026-11-01", reads: 0 },
      { day: "2026-11-02", reads: 0 },
      { day: "2026-11-03", reads: 2 },
    ]);
    expect(fillDays([])).toEqual([]);
  });
  it("shows at least a week, and the whole period asked for", () => {
    const week = fillDays([{ day: "2026-11-25", reads: 3 }]);
    expect(week).toHaveLength(7);
    expect(week[0]).toEqual({ day: "2026-11-19", reads: 0 });
    expect(week[6]).toEqual({ day: "2026-11-25", reads: 3 });
    const month = fillDays([{ day: "2026-11-20", reads: 1 }], 90, { from: "2026-10-27", to: "2026-11-25" });
    expect(month).toHaveLength(30);
    expect(month[month.length - 1].day).toBe("2026-11-25");
  });
  it("keeps the latest days when there are too many", () => {
    const days = fillDays([{ day: "2026-01-01", reads: 1 }, { day: "2026-12-31", reads: 1 }], 10);
    expect(days).toHaveLength(10);
    expect(days[9].day).toBe("2026-12-31");
  });
});

describe("layoutBars", () => {
  it("scales to the busiest day and fills the width", () => {
    const bars = layoutBars(
      [
        { day: "2026-11-01", reads: 4 },
        { day: "2026-11-02", reads: 2 },
        { day: "2026-11-03", reads: 0 },
        { day: "2026-11-04", reads: 1 },
      ],
      100,
      40,
      { from: "2026-11-01" },
    );
    expect(bars.map((b) => b.height)).toEqual([40, 20, 0, 10]);
    expect(bars.map((b) => b.y)).toEqual([0, 20, 40, 30]);
    expect(bars[0].x).toBeCloseTo(1);
    expect(bars[3].x + bars[3].width).toBeCloseTo(99);
  });
});

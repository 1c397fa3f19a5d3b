import { describe, expect, it } from "vitest";
import { LogBuffer } from "../src/logs/buffer";

const row = (id: number) => ({ id, event: { id } });

describe("LogBuffer", () => {
  it("keeps the newest rows up to its cap", () => {
    const b = new LogBuffer(3);
    for (let i = 1; i <= 5; i++) b.add(row(i));
    expect(b.rows.map((r) => r.id)).toEqual([3, 4, 5]);
  });

  it("holds arrivals while paused and appends them on resume", () => {
    const b = new LogBuffer(3);
    b.add(row(1));
    b.pause();
    b.add(row(2));
    b.add(row(3));
    expect(b.rows.map((r) => r.id)).toEqual([1]);
    b.resume();
    expect(b.rows.map((r) => r.id)).toEqual([1, 2, 3]);
  });

  it("bounds the paused queue and counts what it drops", () => {
    const b = new LogBuffer(2);
    b.pause();
    for (let i = 1; i <= 5; i++) b.add(row(i));
    expect(b.waiting.map((r) => r.id)).toEqual([4, 5]);
    expect(b.dropped).toBe(3);
    b.resume();
    expect(b.rows.map((r) => r.id)).toEqual([4, 5]);
    expect(b.dropped).toBe(0);
  });
});

export interface LogRow {
  id: number;
  event: Record<string, unknown>;
}

/**
 * The rows a live log keeps, oldest first, at most `cap`. While paused, arrivals wait in a
 * second bounded queue so the table holds still; when it overflows the oldest waiting rows
 * are dropped and counted rather than growing memory without end.
 */
export class LogBuffer {
  rows: LogRow[] = [];
  waiting: LogRow[] = [];
  dropped = 0;
  paused = false;

  constructor(readonly cap: number) {}

  add(row: LogRow): void {
    if (this.paused) {
      this.waiting.push(row);
      if (this.waiting.length > this.cap) {
        this.dropped += this.waiting.length - this.cap;
        this.waiting.splice(0, this.waiting.length - this.cap);
      }
      return;
    }
    this.rows.push(row);
    this.trim();
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.rows.push(...this.waiting);
    this.waiting = [];
    this.dropped = 0;
    this.trim();
  }

  clear(): void {
    this.rows = [];
    this.waiting = [];
    this.dropped = 0;
  }

  private trim(): void {
    if (this.rows.length > this.cap) this.rows.splice(0, this.rows.length - this.cap);
  }
}

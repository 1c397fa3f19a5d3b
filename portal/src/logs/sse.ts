// An incremental text/event-stream parser (WHATWG HTML §9.2.6) for fetch() bodies:
// EventSource cannot send an Authorization header, and a token must never be in a URL.
export interface SseEvent {
  id: string | null;
  event: string;
  data: string;
}

export class SseParser {
  private buffer = "";
  private data: string[] = [];
  private eventType = "";
  private eventId: string | null = null;
  private sawCarriageReturn = false;
  /** The last `id:` seen, what a reconnect sends as Last-Event-ID. */
  lastEventId: string | null = null;

  constructor(private readonly onEvent: (e: SseEvent) => void, private readonly onComment?: (text: string) => void) {}

  push(chunk: string): void {
    let text = chunk;
    // A CRLF split across chunks: the CR ended the line already, drop its LF.
    if (this.sawCarriageReturn && text.startsWith("\n")) text = text.slice(1);
    this.sawCarriageReturn = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== "\n" && c !== "\r") continue;
      this.line(this.buffer.slice(start, i));
      if (c === "\r") {
        if (i + 1 < this.buffer.length) {
          if (this.buffer[i + 1] === "\n") i++;
        } else {
          this.sawCarriageReturn = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  private line(line: string): void {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) {
      this.onComment?.(line.slice(1).trimStart());
      return;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.eventId = value;
        break;
      default:
        break; // retry and unknown fields: the reconnect delay is ours to choose
    }
  }

  private dispatch(): void {
    if (this.eventId !== null) this.lastEventId = this.eventId;
    if (this.data.length > 0) {
      this.onEvent({ id: this.eventId ?? this.lastEventId, event: this.eventType || "message", data: this.data.join("\n") });
    }
    this.data = [];
    this.eventType = "";
    this.eventId = null;
  }
}

import { describe, expect, it } from "vitest";
import { type SseEvent, SseParser } from "../src/logs/sse";

function parse(chunks: string[]) {
  const events: SseEvent[] = [];
  const comments: string[] = [];
  const p = new SseParser((e) => events.push(e), (c) => comments.push(c));
  for (const c of chunks) p.push(c);
  return { events, comments, parser: p };
}

describe("SseParser", () => {
  it("reads id and data", () => {
    const { events, parser } = parse(['id: 7\ndata: {"a":1}\n\n']);
    expect(events).toEqual([{ id: "7", event: "message", data: '{"a":1}' }]);
    expect(parser.lastEventId).toBe("7");
  });

  it("joins chunks split mid-line and mid-field", () => {
    const text = 'id: 12\ndata: {"decision":"deny"}\n\nid: 13\ndata: {"x":2}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { events } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(events.map((e) => e.id)).toEqual(["12", "13"]);
      expect(events[0]!.data).toBe('{"decision":"deny"}');
    }
  });

  it("joins multi-line data with newlines", () => {
    const { events } = parse(["data: first\ndata: second\ndata\n\n"]);
    expect(events[0]!.data).toBe("first\nsecond\n");
  });

  it("reports comments and dispatches nothing for them", () => {
    const { events, comments } = parse([": connected\n\n: ping\n\n"]);
    expect(events).toEqual([]);
    expect(comments).toEqual(["connected", "ping"]);
  });

  it("accepts CRLF and bare CR line ends, also split between chunks", () => {
    expect(parse(["id: 1\r\ndata: a\r\n\r\n"]).events).toEqual([{ id: "1", event: "message", data: "a" }]);
    expect(parse(["id: 1\rdata: a\r\r"]).events).toEqual([{ id: "1", event: "message", data: "a" }]);
    const split = parse(["id: 1\r", "\ndata: a\r", "\n\r", "\n"]);
    expect(split.events).toEqual([{ id: "1", event: "message", data: "a" }]);
  });

  it("keeps a field without its leading space only once", () => {
    expect(parse(["data:  two spaces\n\n"]).events[0]!.data).toBe(" two spaces");
    expect(parse(["data:none\n\n"]).events[0]!.data).toBe("none");
  });

  it("does not dispatch an unterminated event", () => {
    expect(parse(["id: 1\ndata: a\n"]).events).toEqual([]);
  });

  it("carries the last id to events without one", () => {
    const { events } = parse(["id: 5\ndata: a\n\ndata: b\n\n"]);
    expect(events.map((e) => e.id)).toEqual(["5", "5"]);
  });
});

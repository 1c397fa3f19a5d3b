import type { RefObject } from "preact";
import { useRef } from "preact/hooks";
import type { FieldError } from "./validationErrors";

interface Props {
  value: string;
  label: string;
  /** Absent: read-only (a <pre>, no textarea: a viewer is offered nothing to type into). */
  onInput?: (text: string) => void;
  errors?: Map<number, FieldError[]>;
  textareaRef?: RefObject<HTMLTextAreaElement | null>;
}

function Gutter({ count, errors, gutterRef }: { count: number; errors?: Map<number, FieldError[]>; gutterRef?: RefObject<HTMLDivElement | null> }) {
  const rows = [];
  for (let n = 1; n <= count; n++) {
    const here = errors?.get(n);
    rows.push(
      <div key={n} class={here ? "gutter-error" : undefined} title={here?.map((e) => e.message).join("\n")} data-line={n}>
        {n}
      </div>,
    );
  }
  return (
    <div class="yaml-gutter" aria-hidden="true" ref={gutterRef}>
      {rows}
    </div>
  );
}

/**
 * A plain textarea with a line-number gutter whose error lines are marked. No editor
 * library: the CSP allows no injected styles, and a textarea keeps undo, IME and
 * accessibility for free. The textarea does not wrap, so its lines and the gutter's match.
 */
export function YamlEditor({ value, label, onInput, errors, textareaRef }: Props) {
  const gutter = useRef<HTMLDivElement>(null);
  const count = value.split("\n").length;
  if (!onInput) {
    return (
      <div class="yaml-editor yaml-readonly" data-testid="yaml-readonly" aria-label={label}>
        <Gutter count={count} errors={errors} />
        <pre class="yaml-text mono">{value}</pre>
      </div>
    );
  }
  // Scrolling moves the textarea's content only; the gutter follows by its scrollTop
  // (a DOM property, not a style, so the CSP has nothing to say).
  const sync = (e: Event) => {
    if (gutter.current) gutter.current.scrollTop = (e.currentTarget as HTMLTextAreaElement).scrollTop;
  };
  return (
    <div class="yaml-editor">
      <Gutter count={count} errors={errors} gutterRef={gutter} />
      <textarea
        ref={textareaRef}
        class="yaml-text mono"
        aria-label={label}
        spellcheck={false}
        wrap="off"
        autocomplete="off"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        onScroll={sync}
      />
    </div>
  );
}

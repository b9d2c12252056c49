/**
 * ANSI SGR (Select Graphic Rendition) parsing for log lines: `ESC[...m` sequences become styled
 * segments of plain text. The text is never interpreted as HTML — segments are rendered as React
 * text nodes. Other escape sequences (cursor moves, OSC titles, …) are dropped.
 *
 * Colours 0–15 map to CSS classes (`ansi-fg-1`, `ansi-bg-4`, see index.css) whose values are
 * chosen for contrast in both themes; 256-colour and truecolour values become CSS colours.
 */
export interface AnsiStyle {
  /** 0–15 for the named palette, or a CSS colour string (256-colour / truecolour). */
  fg?: number | string;
  bg?: number | string;
  bold?: boolean;
  dim?: boolean;
  italic?: boolean;
  underline?: boolean;
  inverse?: boolean;
  strike?: boolean;
}

export interface AnsiSegment {
  text: string;
  style: AnsiStyle;
}

// ESC [ params final-byte (CSI), or ESC ] ... BEL/ST (OSC), or a lone two-byte escape.
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b(?:\[([0-9;:?]*)([@-~])|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g;

const CUBE = [0, 95, 135, 175, 215, 255];

/** xterm 256-colour index → CSS colour (16–255; 0–15 stay palette indices). */
export function xterm256(n: number): number | string {
  if (n < 16) return n;
  if (n < 232) {
    const i = n - 16;
    return `rgb(${CUBE[Math.floor(i / 36)]}, ${CUBE[Math.floor(i / 6) % 6]}, ${CUBE[i % 6]})`;
  }
  const v = 8 + (n - 232) * 10;
  return `rgb(${v}, ${v}, ${v})`;
}

const clamp = (v: number) => Math.max(0, Math.min(255, v | 0));

/** Applies one SGR parameter list to `style` (mutating a copy the caller owns). */
function applySgr(style: AnsiStyle, params: number[]): AnsiStyle {
  const s: AnsiStyle = { ...style };
  if (params.length === 0) params = [0];
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) {
      for (const k of Object.keys(s)) delete (s as Record<string, unknown>)[k];
    } else if (p === 1) s.bold = true;
    else if (p === 2) s.dim = true;
    else if (p === 3) s.italic = true;
    else if (p === 4) s.underline = true;
    else if (p === 7) s.inverse = true;
    else if (p === 9) s.strike = true;
    else if (p === 21 || p === 22) {
      delete s.bold;
      delete s.dim;
    } else if (p === 23) delete s.italic;
    else if (p === 24) delete s.underline;
    else if (p === 27) delete s.inverse;
    else if (p === 29) delete s.strike;
    else if (p >= 30 && p <= 37) s.fg = p - 30;
    else if (p >= 90 && p <= 97) s.fg = p - 90 + 8;
    else if (p === 39) delete s.fg;
    else if (p >= 40 && p <= 47) s.bg = p - 40;
    else if (p >= 100 && p <= 107) s.bg = p - 100 + 8;
    else if (p === 49) delete s.bg;
    else if (p === 38 || p === 48) {
      const key = p === 38 ? "fg" : "bg";
      if (params[i + 1] === 5 && params[i + 2] !== undefined) {
        s[key] = xterm256(clamp(params[i + 2]));
        i += 2;
      } else if (params[i + 1] === 2 && params[i + 4] !== undefined) {
        s[key] = `rgb(${clamp(params[i + 2])}, ${clamp(params[i + 3])}, ${clamp(params[i + 4])})`;
        i += 4;
      } else {
        break; // malformed extended colour: ignore the rest of this sequence
      }
    }
  }
  return s;
}

const sameStyle = (a: AnsiStyle, b: AnsiStyle) => {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
};

/**
 * Splits `input` into styled segments. `initial` carries the style in effect at the start (a
 * style can span lines); the style at the end is returned too.
 */
export function parseAnsi(input: string, initial: AnsiStyle = {}): { segments: AnsiSegment[]; style: AnsiStyle } {
  const segments: AnsiSegment[] = [];
  let style = initial;
  let last = 0;
  const push = (text: string) => {
    if (!text) return;
    const prev = segments[segments.length - 1];
    if (prev && sameStyle(prev.style, style)) prev.text += text;
    else segments.push({ text, style });
  };
  if (!input.includes("\u001b")) {
    push(input);
    return { segments, style };
  }
  ESCAPE.lastIndex = 0;
  for (let m = ESCAPE.exec(input); m; m = ESCAPE.exec(input)) {
    push(input.slice(last, m.index));
    last = ESCAPE.lastIndex;
    if (m[2] === "m" && m[1] !== undefined && !m[1].startsWith("?")) {
      const params = m[1] === "" ? [] : m[1].split(/[;:]/).map((x) => (x === "" ? 0 : Number(x)));
      style = applySgr(style, params.map((x) => (Number.isFinite(x) ? x : 0)));
    }
  }
  push(input.slice(last));
  return { segments, style };
}

/** The line without any escape sequences (for search, copy and download). */
export function stripAnsi(input: string): string {
  return input.includes("\u001b") ? input.replace(ESCAPE, "") : input;
}

/** CSS classes and inline colours for a segment (inline colours only for 256/truecolour). */
export function segmentProps(style: AnsiStyle): { className: string; style?: { color?: string; backgroundColor?: string } } {
  let fg = style.fg;
  let bg = style.bg;
  if (style.inverse) [fg, bg] = [bg ?? "default-bg", fg ?? "default-fg"];
  const classes: string[] = [];
  const inline: { color?: string; backgroundColor?: string } = {};
  if (typeof fg === "number") classes.push(`ansi-fg-${style.bold && fg < 8 ? fg + 8 : fg}`);
  else if (fg === "default-bg") classes.push("ansi-fg-inverse");
  else if (fg) inline.color = fg;
  if (typeof bg === "number") classes.push(`ansi-bg-${bg}`);
  else if (bg === "default-fg") classes.push("ansi-bg-inverse");
  else if (bg) inline.backgroundColor = bg;
  if (style.bold) classes.push("font-bold");
  if (style.dim) classes.push("ansi-dim");
  if (style.italic) classes.push("italic");
  if (style.underline) classes.push("underline");
  if (style.strike) classes.push("line-through");
  return { className: classes.join(" "), style: inline.color || inline.backgroundColor ? inline : undefined };
}

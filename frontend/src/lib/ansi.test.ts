import { parseAnsi, segmentProps, stripAnsi, xterm256 } from "@/lib/ansi";

const ESC = "\u001b";

describe("parseAnsi", () => {
  it("leaves plain text alone", () => {
    expect(parseAnsi("hello <b>world</b>").segments).toEqual([{ text: "hello <b>world</b>", style: {} }]);
  });

  it("splits text at SGR colour codes and resets", () => {
    const { segments } = parseAnsi(`${ESC}[31mred${ESC}[0m plain ${ESC}[1;32mbold green${ESC}[39m bold`);
    expect(segments).toEqual([
      { text: "red", style: { fg: 1 } },
      { text: " plain ", style: {} },
      { text: "bold green", style: { bold: true, fg: 2 } },
      { text: " bold", style: { bold: true } },
    ]);
  });

  it("reads bright, background, 256-colour and truecolour codes", () => {
    const { segments } = parseAnsi(`${ESC}[93;44ma${ESC}[38;5;196mb${ESC}[48;2;10;20;30mc${ESC}[49;38;5;3md`);
    expect(segments.map((s) => s.style)).toEqual([
      { fg: 11, bg: 4 },
      { fg: "rgb(255, 0, 0)", bg: 4 },
      { fg: "rgb(255, 0, 0)", bg: "rgb(10, 20, 30)" },
      { fg: 3 },
    ]);
    expect(xterm256(232)).toBe("rgb(8, 8, 8)");
  });

  it("treats an empty SGR as a reset and merges equal neighbours", () => {
    expect(parseAnsi(`${ESC}[4mu${ESC}[mx${ESC}[0my`).segments).toEqual([
      { text: "u", style: { underline: true } },
      { text: "xy", style: {} },
    ]);
  });

  it("drops other escape sequences (cursor moves, OSC titles) without eating text", () => {
    const line = `${ESC}[2K${ESC}[1Gprogress ${ESC}]0;title\u0007done${ESC}[?25l`;
    expect(parseAnsi(line).segments).toEqual([{ text: "progress done", style: {} }]);
    expect(stripAnsi(`${ESC}[31merror:${ESC}[0m boom`)).toBe("error: boom");
  });

  it("carries a style across lines and maps styles to classes", () => {
    const first = parseAnsi(`${ESC}[35mstart`);
    const second = parseAnsi("continued", first.style);
    expect(second.segments[0].style).toEqual({ fg: 5 });
    expect(segmentProps({ fg: 1, bold: true }).className).toBe("ansi-fg-9 font-bold");
    expect(segmentProps({ fg: "rgb(1, 2, 3)" })).toEqual({ className: "", style: { color: "rgb(1, 2, 3)" } });
    expect(segmentProps({ inverse: true }).className).toBe("ansi-fg-inverse ansi-bg-inverse");
  });
});

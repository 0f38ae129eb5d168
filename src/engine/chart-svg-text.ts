import { clipText, oneLine } from './chart-types.ts';

/**
 * SVG building blocks for `chart-svg.ts`: elements as strings with coordinates rounded to 0.1 px,
 * and text escaped for XML. Every text from outside goes through `esc` (via `text`), which also
 * replaces what XML 1.0 cannot hold at all (control characters, lone surrogates).
 */

/** Average glyph width of sans-serif as a share of the font size: enough to clip texts to fit. */
export const GLYPH = 0.6;

/** Rounded to 0.1 px: shorter output, and the same string on every platform. */
export function r(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** A `<line>`; `extra` holds further attributes (`stroke-width="2"`). */
export function line(x1: number, y1: number, x2: number, y2: number, stroke: string, extra = ''): string {
  return `<line x1="${r(x1)}" y1="${r(y1)}" x2="${r(x2)}" y2="${r(y2)}" stroke="${stroke}"${extra ? ` ${extra}` : ''}/>`;
}

/** A `<text>` with `content` escaped; `halo` draws an outline in that colour behind the glyphs. */
export function text(
  x: number,
  y: number,
  content: string,
  o: { size: number; fill: string; anchor?: 'start' | 'middle' | 'end'; bold?: boolean; halo?: string },
): string {
  const attrs = [
    `x="${r(x)}" y="${r(y)}" font-size="${o.size}" fill="${o.fill}"`,
    o.anchor && o.anchor !== 'start' ? ` text-anchor="${o.anchor}"` : '',
    o.bold ? ' font-weight="bold"' : '',
    // A halo in the background colour keeps a label readable over the lines it crosses.
    o.halo ? ` stroke="${o.halo}" stroke-width="3" paint-order="stroke"` : '',
  ].join('');
  return `<text ${attrs}>${esc(content)}</text>`;
}

/** How many pixels `s` takes at font `size`, roughly. */
export function textWidth(s: string, size: number): number {
  return Array.from(s).length * size * GLYPH;
}

/** `s` on one line, cut to about `px` pixels at font `size`. */
export function clip(s: string, px: number, size: number): string {
  return clipText(oneLine(s), Math.max(1, Math.floor(px / (size * GLYPH))));
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
};
/** Characters XML 1.0 cannot hold even as references, and lone surrogates (not UTF-8 encodable). */
const NOT_XML =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes
  /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text for element content or an attribute value: the five XML specials as entities. */
export function esc(s: string): string {
  return s.replace(NOT_XML, '\ufffd').replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

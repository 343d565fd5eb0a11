/**
 * The console's colours pass WCAG AA: every status chip's white text on its colour, and the muted, link and body
 * text on the page's white, have a contrast ratio of at least 4.5:1 (read from app.css itself).
 */
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';

const css = readFileSync('assets/console/static/app.css', 'utf8');
const colour = (name: string) => {
  const m = new RegExp(`--${name}:\\s*(#[0-9a-fA-F]{6})`).exec(css);
  if (!m) throw new Error(`--${name} is not defined in app.css`);
  return m[1]!;
};

/** WCAG relative luminance of a #rrggbb colour. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const contrast = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

it('status chips: white text on each status colour is at least 4.5:1', () => {
  for (const name of ['ok', 'failed', 'pending', 'other', 'accent'])
    expect(contrast('#ffffff', colour(name)), name).toBeGreaterThanOrEqual(4.5);
});

it('text on the page: body, muted and links on white are at least 4.5:1', () => {
  for (const name of ['fg', 'muted', 'accent'])
    expect(contrast(colour(name), colour('bg')), name).toBeGreaterThanOrEqual(4.5);
});

import MarkdownIt from 'markdown-it';

/**
 * The post-incident report as one self-contained HTML page: the Markdown report
 * (src/engine/report.ts) rendered, each chart's image swapped for its inline SVG, a small print-
 * friendly style, and nothing fetched from anywhere. The Markdown escapes everything that came from
 * outside (labels, facts, messages) as entities, so the only HTML in it is the report's own `<br>`.
 */
const md = new MarkdownIt({ html: true, linkify: false, typographer: false });

const STYLE = `
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #111827; }
table { border-collapse: collapse; margin: 1rem 0; } th, td { border: 1px solid #d1d5db; padding: .3rem .5rem; text-align: left; vertical-align: top; }
code { font: 13px ui-monospace, monospace; background: #f3f4f6; padding: 0 .2rem; }
figure { margin: 1rem 0; } figure svg { max-width: 100%; height: auto; } figcaption { color: #4b5563; font-size: 13px; }
@media print { body { margin: 0; } }
`;

/** A chart placeholder in the Markdown (`src` of its image), and the SVG that replaces it. */
export interface InlineChart {
  placeholder: string;
  svg: string;
  summary: string;
}

export function reportHtml(title: string, markdown: string, charts: readonly InlineChart[]): string {
  let body = md.render(markdown);
  for (const chart of charts) {
    // markdown-it renders each chart as <p><img src="placeholder" alt="…"></p>: the figure takes its place.
    const img = new RegExp(`<p><img src="${chart.placeholder}" alt="[^"]*"\\s*/?></p>`);
    body = body.replace(
      img,
      `<figure role="img" aria-label="${escapeAttr(chart.summary)}">${chart.svg}</figure>`,
    );
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeAttr(title)}</title><style>${STYLE}</style></head>
<body>
${body}</body></html>
`;
}

function escapeAttr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

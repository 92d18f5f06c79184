"""The HTML shell every gallery page shares, and the small pieces pages are built from.

A page is one self-contained file: its style sheet and its one script are inline, every
address in it is relative, and nothing is fetched from elsewhere, so a site opens from
``file://`` with no server and no network. The script only marks each ``<img>`` with the
width it loaded at (``data-natural-width``) and the page with how many loaded
(``<body data-images="loaded/total">``), outlining a picture that failed; a reader sees a broken
picture at once, and the browser test reads the same marks from the rendered DOM.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .markdown import escape

__all__ = ["GENERATOR", "code_block", "figure", "metrics_table", "page", "table"]

GENERATOR = "ganzoo gallery"
"""The ``<meta name="generator">`` of every page: how a later build knows a folder is a gallery."""

STYLE = """
:root { color-scheme: light; --ink: #1d232b; --muted: #5b6673; --line: #d9dee4; --accent: #2f6db5; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
       background: #f6f7f9; }
header.site { background: #1d232b; color: #fff; padding: 14px 28px; }
header.site a { color: #fff; text-decoration: none; font-weight: 600; }
header.site span { color: #aab4bf; margin-left: 12px; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 28px 48px; }
h1 { font-size: 26px; margin: 8px 0 4px; } h2 { font-size: 20px; margin-top: 28px; } h3 { font-size: 17px; }
a { color: var(--accent); }
p.summary { color: var(--muted); margin-top: 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 16px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 14px; }
.card h2 { font-size: 18px; margin: 0 0 4px; } .card p { margin: 4px 0; }
.card img { width: 100%; image-rendering: pixelated; border-radius: 4px; background: #000; }
.kind { display: inline-block; font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #e7eef8;
        color: #2f4f7a; }
.pictures { display: flex; flex-wrap: wrap; gap: 18px; align-items: flex-start; }
figure { margin: 0; background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figure img { display: block; max-width: 100%; image-rendering: pixelated; }
figcaption { font-size: 13px; color: var(--muted); margin-top: 6px; max-width: 520px; }
table { border-collapse: collapse; margin: 10px 0; background: #fff; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
pre { background: #1d232b; color: #e8edf2; padding: 10px 14px; border-radius: 6px; overflow-x: auto; }
code { font: 13px/1.45 ui-monospace, "DejaVu Sans Mono", monospace; }
p code, td code, li code { background: #e9ecef; padding: 0 4px; border-radius: 3px; }
blockquote { margin: 8px 0; padding: 2px 14px; border-left: 4px solid var(--line); color: var(--muted); }
.card-body { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 4px 22px 14px; }
.card-body img { max-width: 100%; image-rendering: pixelated; }
.note { color: #8a5300; }
img.broken { outline: 3px solid #c62828; }
"""

CHECK_IMAGES = """
window.addEventListener("load", function () {
  var images = document.images, loaded = 0;
  for (var i = 0; i < images.length; i++) {
    var width = images[i].complete ? images[i].naturalWidth : 0;
    images[i].setAttribute("data-natural-width", String(width));
    if (width > 0) { loaded++; } else { images[i].classList.add("broken"); }
  }
  document.body.setAttribute("data-images", loaded + "/" + images.length);
});
"""


def page(title: str, body: str, *, home: str | None = None, subtitle: str = "") -> str:
    """A whole HTML document; ``home`` is the relative address of the index (None on the index itself)."""
    brand = f'<a href="{escape(home)}">ganzoo gallery</a>' if home else "<a>ganzoo gallery</a>"
    extra = f"<span>{escape(subtitle)}</span>" if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="{GENERATOR}">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f'<body>\n<header class="site">{brand}{extra}</header>\n<main>\n{body}\n</main>\n'
        f"<script>{CHECK_IMAGES}</script>\n</body>\n</html>\n"
    )


def figure(src: str, caption: str, *, alt: str, width: int | None = None) -> str:
    """An ``<img>`` with a caption; ``src`` is a relative address, ``caption`` plain text."""
    size = f' width="{int(width)}"' if width else ""
    return (
        f'<figure><img src="{escape(src)}" alt="{escape(alt)}"{size}>'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def code_block(text: str, language: str = "bash") -> str:
    return f'<pre><code class="language-{escape(language)}">{escape(text)}</code></pre>'


def table(header: Iterable[str] | None, rows: Iterable[Iterable[str]], *, cells_are_html: bool = False) -> str:
    """A table of plain-text cells (escaped here), or of HTML fragments when ``cells_are_html``; no
    header row when ``header`` is None."""
    head = "<thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr></thead>\n" if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{c if cells_are_html else escape(c)}</td>" for c in row) + "</tr>\n" for row in rows
    )
    return f"<table>\n{head}<tbody>\n{body}</tbody>\n</table>"


def format_value(value: Any) -> str:
    """A metric as people read it: four significant digits for floats, the rest as it is."""
    if isinstance(value, bool) or not isinstance(value, float):
        return str(value)
    return f"{value:.4g}"


def metrics_table(metrics: Mapping[str, Any], protocols: Mapping[str, str] | None = None) -> str:
    """Metric, value and how it was measured (when ``protocols`` says)."""
    protocols = protocols or {}
    rows = [(name, format_value(value), protocols.get(name, "")) for name, value in metrics.items()]
    return table(("metric", "value", "how it was measured"), rows)

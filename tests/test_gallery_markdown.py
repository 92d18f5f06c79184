"""The gallery's Markdown renderer: what cards use renders, and nothing in a card can become markup."""

from __future__ import annotations

import re
from pathlib import Path

from ganzoo.gallery.markdown import render_markdown, safe_url

CARDS = Path(__file__).resolve().parent.parent / "model_cards"


def test_headings_paragraphs_lists_code_and_quotes():
    html = render_markdown(
        "# Title\n\nOne line\ncontinued with `code` and **bold** and *em*.\n\n"
        "- first\n- second\n  continued\n\n1. one\n2. two\n\n```bash\nganzoo train x --out 'a b'\n```\n\n> quoted\n"
    )
    assert '<h1 id="title">Title</h1>' in html
    assert "<p>One line continued with <code>code</code> and <strong>bold</strong> and <em>em</em>.</p>" in html
    assert "<ul>\n<li>first</li>\n<li>second continued</li>\n</ul>" in html
    assert "<ol>\n<li>one</li>\n<li>two</li>\n</ol>" in html
    assert '<pre><code class="language-bash">ganzoo train x --out &#x27;a b&#x27;</code></pre>' in html
    assert "<blockquote>\n<p>quoted</p>\n</blockquote>" in html


def test_tables_links_and_images():
    html = render_markdown(
        "| metric | value |\n|---|---:|\n| `fid` | 17.2 |\n| a \\| b | [x](page.html) |\n\n"
        "See <https://example.org/a> and ![grid](grid.png \"t\").",
        image=lambda src: "copied-" + src,
    )
    assert "<thead><tr><th>metric</th><th style=\"text-align:right\">value</th></tr></thead>" in html
    assert "<tr><td><code>fid</code></td><td style=\"text-align:right\">17.2</td></tr>" in html
    assert '<td>a | b</td><td style="text-align:right"><a href="page.html">x</a></td>' in html
    assert '<a href="https://example.org/a">https://example.org/a</a>' in html
    assert '<img src="copied-grid.png" alt="grid" title="t">' in html


def test_markup_in_a_card_is_text():
    html = render_markdown(
        '# <script>alert("h")</script>\n\n<img src=x onerror=alert(1)> "quoted" & \'single\'\n\n'
        '| <b>cell</b> |\n|---|\n| "x" |\n\n```\n</code><script>x</script>\n```\n\n'
        '[a](x" onmouseover="alert(1)) ![b](y"onerror="z)'
    )
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&quot;h&quot;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &quot;quoted&quot; &amp; &#x27;single&#x27;" in html
    assert "&lt;/code&gt;&lt;script&gt;x&lt;/script&gt;" in html
    assert 'onmouseover="' not in html and 'onerror="' not in html


def test_dangerous_addresses_are_dropped():
    html = render_markdown(
        "[click](javascript:alert%281%29) [upper](JavaScript:x) [data](data:text/html,hi) [far](//evil.example/x) "
        "[ok](other.html#part) [mail](mailto:a@b.c) [web](https://example.org/)\n\n"
        "![pic](data:image/png;base64,AAAA) ![remote](https://example.org/x.png) ![local](grid.png)",
        image=lambda src: "copied.png" if src == "grid.png" else None,
    )
    addresses = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert addresses == [
        "other.html#part", "mailto:a@b.c", "https://example.org/", "https://example.org/x.png", "copied.png"
    ]
    for text in ("click", "upper", "data", "far", "pic"):  # the text of a dropped link stays, as text
        assert f" {text} " in f" {html} ".replace("<p>", " ").replace("</p>", " ")
    assert re.findall(r"<img [^>]*>", html) == ['<img src="copied.png" alt="local">']  # only copied pictures load
    assert safe_url("Page.html#x") == "Page.html#x" and safe_url("MAILTO:a@b") == "MAILTO:a@b"
    assert safe_url("vbscript:x") is None and safe_url(" java\tscript:x") is None


def test_every_shipped_card_renders_its_sections():
    from ganzoo.cards.frontmatter import split_front_matter

    for card in sorted(CARDS.glob("*.*.md")):
        _, body = split_front_matter(card.read_text(encoding="utf-8"))
        html = render_markdown(body, image=lambda src: src)
        for title in ("Model", "How it was trained", "Data", "Use", "Intended use and limitations"):
            assert f">{title}</h2>" in html, (card.name, title)
        assert "<table>" in html and '<pre><code class="language-bash">ganzoo train ' in html
        assert f'<img src="{card.stem}.png"' in html
        assert "**" not in html and "](" not in html and "\n|" not in html, card.name  # nothing left unrendered

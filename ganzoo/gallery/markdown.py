"""A small, safe Markdown-to-HTML renderer for model cards.

Cards use a handful of constructs (ATX headings, paragraphs, pipe tables, fenced code, flat
lists, block quotes, links, images, autolinks, inline code, emphasis), so the gallery renders
exactly those instead of depending on a full CommonMark library. Safety comes from the
design, not from a sanitiser run afterwards: every piece of source text is HTML-escaped
before it reaches the output, raw HTML in a card is shown as text, and a link or image
address is kept only when it is relative or ``http``/``https``/``mailto`` (``javascript:``
and ``data:`` become plain text). Images are resolved by the caller (``image(src)``), which
copies a card's local picture next to the page and returns its relative address; any other
image is shown as a link (a web address) or as its text, so a page never loads anything from
elsewhere.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

__all__ = ["escape", "render_markdown", "safe_url", "slug"]

ImageResolver = Callable[[str], "str | None"]

_SAFE_SCHEMES = ("http", "https", "mailto")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_FENCE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})\s*([^`\s]*)\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_BULLET = re.compile(r"^\s{0,3}([-*+])\s+(.*)$")
_NUMBERED = re.compile(r"^\s{0,3}(\d{1,9})[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")

# Inline constructs, tried in this order at each position (the earliest match wins).
_INLINE = re.compile(
    r"(?P<escape>\\[\\`*_{}\[\]()#+\-.!|<>~])"
    r"|(?P<code>(?P<ticks>`+)(?P<code_text>.+?)(?P=ticks))"
    r"|(?P<autolink><(?P<auto_url>(?:https?://|mailto:)[^\s<>]+)>)"
    r"|(?P<image>!\[(?P<alt>[^\]]*)\]\((?P<src>[^()\s]+)(?:\s+\"(?P<img_title>[^\"]*)\")?\))"
    r"|(?P<link>\[(?P<text>[^\]]+)\]\((?P<href>[^()\s]+)(?:\s+\"(?P<title>[^\"]*)\")?\))"
    r"|(?P<strong>\*\*(?P<strong_text>\S(?:.*?\S)?)\*\*|__(?P<strong_under>\S(?:.*?\S)?)__)"
    r"|(?P<em>\*(?P<em_text>[^*\s](?:[^*]*[^*\s])?)\*|(?<![A-Za-z0-9])_(?P<em_under>[^_\s](?:[^_]*[^_\s])?)_(?![A-Za-z0-9]))"
)


def escape(text: object) -> str:
    """HTML-escape ``text`` for element content and for quoted attribute values alike."""
    return html.escape(str(text), quote=True)


def safe_url(url: str) -> str | None:
    """``url`` if it is relative or uses a harmless scheme (http, https, mailto); None otherwise."""
    url = url.strip()
    cleaned = re.sub(r"[\x00-\x20\x7f]", "", url)  # browsers ignore these inside a scheme: "java\tscript:"
    match = _SCHEME.match(cleaned)
    if match is None:
        return None if cleaned.startswith("//") else url  # "//host/x" is another site, not a relative path
    return url if match.group(1).lower() in _SAFE_SCHEMES else None


def slug(text: str) -> str:
    """An ``id`` for a heading: lower-case words joined by ``-``."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words) or "section"


def render_inline(text: str, image: ImageResolver | None = None) -> str:
    """HTML of one line (or paragraph) of Markdown inline syntax; every character of ``text`` is escaped."""
    out: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        out.append(escape(text[position : match.start()]))
        out.append(_inline_piece(match, image))
        position = match.end()
    out.append(escape(text[position:]))
    return "".join(out)


def _inline_piece(match: re.Match[str], image: ImageResolver | None) -> str:
    kind = match.lastgroup
    group = match.group
    if group("escape"):
        return escape(group("escape")[1])
    if group("code"):
        return f"<code>{escape(group('code_text').strip())}</code>"
    if group("autolink"):
        url = group("auto_url")
        return f'<a href="{escape(url)}">{escape(url)}</a>'
    if group("image"):
        return _image(group("alt"), group("src"), group("img_title"), image)
    if group("link"):
        url = safe_url(group("href"))
        inner = render_inline(group("text"), image)
        if url is None:
            return inner
        title = f' title="{escape(group("title"))}"' if group("title") else ""
        return f'<a href="{escape(url)}"{title}>{inner}</a>'
    if group("strong"):
        return f"<strong>{render_inline(group('strong_text') or group('strong_under'), image)}</strong>"
    if group("em"):
        return f"<em>{render_inline(group('em_text') or group('em_under'), image)}</em>"
    raise AssertionError(f"unhandled inline construct {kind}")  # pragma: no cover


def _image(alt: str, src: str, title: str | None, image: ImageResolver | None) -> str:
    local = image(src) if image is not None else None
    if local is None:  # not a picture copied next to the page: a web address becomes a link, the rest text
        url = safe_url(src)
        label = escape(alt or src)
        web = url is not None and _SCHEME.match(url) is not None
        return f'<a href="{escape(url)}">{label}</a>' if web else label
    title_attribute = f' title="{escape(title)}"' if title else ""
    return f'<img src="{escape(local)}" alt="{escape(alt)}"{title_attribute}>'


def _split_row(line: str) -> list[str]:
    """The cells of a pipe-table row; ``\\|`` and pipes inside code spans stay in their cell."""
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|") and not line.endswith("\\|"):
        line = line[:-1]
    cells, current, in_code, index = [], [], False, 0
    while index < len(line):
        char = line[index]
        if char == "\\" and index + 1 < len(line) and line[index + 1] == "|":
            current.append("\\|")
            index += 2
            continue
        if char == "`":
            in_code = not in_code
        if char == "|" and not in_code:
            cells.append("".join(current).strip())
            current = []
        else:
            current.append(char)
        index += 1
    cells.append("".join(current).strip())
    return cells


def _alignments(rule: str) -> list[str]:
    aligns = []
    for cell in _split_row(rule):
        left, right = cell.startswith(":"), cell.endswith(":")
        aligns.append("center" if left and right else "right" if right else "left" if left else "")
    return aligns


def _table(lines: list[str], image: ImageResolver | None) -> str:
    header, aligns, rows = _split_row(lines[0]), _alignments(lines[1]), [_split_row(x) for x in lines[2:]]

    def cell(tag: str, text: str, column: int) -> str:
        align = aligns[column] if column < len(aligns) else ""
        style = f' style="text-align:{align}"' if align else ""
        return f"<{tag}{style}>{render_inline(text, image)}</{tag}>"

    head = "".join(cell("th", text, i) for i, text in enumerate(header))
    body = "".join(
        "<tr>" + "".join(cell("td", row[i] if i < len(row) else "", i) for i in range(len(header))) + "</tr>\n"
        for row in rows
    )
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


def _is_block_start(line: str, next_line: str | None) -> bool:
    return bool(
        _FENCE.match(line) or _HEADING.match(line) or _RULE.match(line) or _BULLET.match(line)
        or _NUMBERED.match(line) or _QUOTE.match(line)
        or (line.lstrip().startswith("|") and next_line is not None and _TABLE_RULE.match(next_line))
    )


def render_markdown(text: str, *, image: ImageResolver | None = None) -> str:
    """HTML for the Markdown ``text`` (a card body without its front matter).

    ``image(src)`` returns the address to use for a Markdown image (after copying the file),
    or None to show the image as a link instead.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(_blocks(lines, image))


def _blocks(lines: list[str], image: ImageResolver | None) -> list[str]:
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else None
        if not line.strip():
            index += 1
            continue
        fence = _FENCE.match(line)
        if fence:
            marker, language = fence.group(2), fence.group(3)
            body: list[str] = []
            index += 1
            while index < len(lines) and not lines[index].strip().startswith(marker):
                body.append(lines[index])
                index += 1
            index += 1  # the closing fence (or the end of the text)
            css = f' class="language-{escape(language)}"' if language else ""
            out.append(f"<pre><code{css}>{escape(chr(10).join(body))}</code></pre>")
            continue
        heading = _HEADING.match(line)
        if heading:
            level, title = len(heading.group(1)), heading.group(2)
            out.append(f'<h{level} id="{slug(title)}">{render_inline(title, image)}</h{level}>')
            index += 1
            continue
        if _RULE.match(line):
            out.append("<hr>")
            index += 1
            continue
        if line.lstrip().startswith("|") and following is not None and _TABLE_RULE.match(following):
            rows = [line, following]
            index += 2
            while index < len(lines) and lines[index].lstrip().startswith("|"):
                rows.append(lines[index])
                index += 1
            out.append(_table(rows, image))
            continue
        if _QUOTE.match(line):
            quoted = []
            while index < len(lines) and _QUOTE.match(lines[index]):
                quoted.append(_QUOTE.match(lines[index]).group(1))  # type: ignore[union-attr]
                index += 1
            out.append("<blockquote>\n" + "\n".join(_blocks(quoted, image)) + "\n</blockquote>")
            continue
        if _BULLET.match(line) or _NUMBERED.match(line):
            index = _list(lines, index, image, out)
            continue
        paragraph = [line.strip()]
        index += 1
        while index < len(lines) and lines[index].strip():
            nxt = lines[index + 1] if index + 1 < len(lines) else None
            if _is_block_start(lines[index], nxt):
                break
            paragraph.append(lines[index].strip())
            index += 1
        out.append(f"<p>{render_inline(' '.join(paragraph), image)}</p>")
    return out


def _list(lines: list[str], index: int, image: ImageResolver | None, out: list[str]) -> int:
    """A flat list starting at ``lines[index]``; indented lines continue the item above them."""
    ordered = _NUMBERED.match(lines[index]) is not None
    pattern = _NUMBERED if ordered else _BULLET
    items: list[list[str]] = []
    start = int(_NUMBERED.match(lines[index]).group(1)) if ordered else 1  # type: ignore[union-attr]
    while index < len(lines):
        line = lines[index]
        match = pattern.match(line)
        if match:
            items.append([match.group(2).strip()])
        elif line.strip() and items and line.startswith((" ", "\t")):
            items[-1].append(line.strip())
        else:
            break
        index += 1
    tag = "ol" if ordered else "ul"
    start_attribute = f' start="{start}"' if ordered and start != 1 else ""
    body = "".join(f"<li>{render_inline(' '.join(item), image)}</li>\n" for item in items)
    out.append(f"<{tag}{start_attribute}>\n{body}</{tag}>")
    return index

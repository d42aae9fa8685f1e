"""A small, safe Markdown renderer for competition descriptions.

Organizers write descriptions in Markdown; pages show them to anyone. Everything is
HTML-escaped first, so raw HTML in a description is shown as text, never run. On top of the
escaped text it renders the common subset: headings, paragraphs, emphasis, inline code,
fenced code blocks, lists, block quotes, rules, simple pipe tables and links (http, https,
mailto and site-relative only; a ``javascript:`` or other link keeps its text and loses
the link). No dependency: the subset a competition page needs is small.
"""

from __future__ import annotations

import html
import re

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s+(.*)$")
_RULE = re.compile(r"^\s*([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_CODE_SPAN = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_AUTOLINK = re.compile(r"&lt;(https?://[^\s&]+)&gt;")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")


def _safe_url(url: str) -> bool:
    """http(s), mailto, a fragment, or a path on this site.

    Browsers read a backslash as a slash and drop tabs and newlines inside a URL, so
    ``/\\evil.example/x`` is ``//evil.example/x``: a link to another host that looks local.
    Any URL holding one of those, or another control or space character, is refused."""
    if any(ch == "\\" or ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        return False
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")):
        return len(url.split("/", 3)[2]) > 0
    if lowered.startswith("mailto:") or url.startswith("#"):
        return True
    return url.startswith("/") and not url.startswith("//")


def _inline(text: str) -> str:
    """Inline markup on one escaped line. Code spans are set aside so nothing inside them changes."""
    text = html.escape(text, quote=True)
    codes: list[str] = []

    def keep_code(match: re.Match) -> str:
        codes.append(f"<code>{match.group(1)}</code>")
        return f"\x00{len(codes) - 1}\x00"

    text = _CODE_SPAN.sub(keep_code, text)

    def link(match: re.Match) -> str:
        label, url = match.group(1), html.unescape(match.group(2))
        if not _safe_url(url):
            return label
        rel = ' rel="noopener noreferrer"' if url.lower().startswith("http") else ""
        return f'<a href="{html.escape(url, quote=True)}"{rel}>{label}</a>'

    text = _LINK.sub(link, text)
    text = _AUTOLINK.sub(lambda m: f'<a href="{m.group(1)}" rel="noopener noreferrer">{m.group(1)}</a>', text)
    text = _STRONG.sub(r"<strong>\2</strong>", text)
    text = _EMPHASIS.sub(r"<em>\2</em>", text)
    return re.sub("\x00(\\d+)\x00", lambda m: codes[int(m.group(1))], text)


def _cells(line: str) -> list[str]:
    line = line.strip()
    if line.startswith("|"):
        line = line[1:]
    if line.endswith("|"):
        line = line[:-1]
    return [cell.strip() for cell in line.split("|")]


def render_markdown(source: str) -> str:  # noqa: C901 - one line-by-line pass, one branch per block kind
    """Markdown to HTML; the result is safe to mark safe in a template."""
    lines = (source or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    paragraph: list[str] = []
    i = 0

    def flush() -> None:
        if paragraph:
            out.append("<p>" + "<br>\n".join(_inline(p) for p in paragraph) + "</p>")
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        if not line.strip():
            flush()
            i += 1
            continue
        if fence_match := _FENCE.match(line):
            flush()
            fence = fence_match.group(1)
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            out.append("<pre><code>" + html.escape("\n".join(body)) + "</code></pre>")
            i += 1
            continue
        heading = _HEADING.match(line)
        if heading:
            flush()
            level = len(heading.group(1))
            out.append(f"<h{level + 1 if level < 6 else 6}>{_inline(heading.group(2))}</h{level + 1 if level < 6 else 6}>")
            i += 1
            continue
        if _RULE.match(line):
            flush()
            out.append("<hr>")
            i += 1
            continue
        if line.lstrip().startswith(">"):
            flush()
            quoted = []
            while i < len(lines) and lines[i].lstrip().startswith(">"):
                quoted.append(lines[i].lstrip()[1:].lstrip())
                i += 1
            out.append("<blockquote>" + render_markdown("\n".join(quoted)) + "</blockquote>")
            continue
        if "|" in line and i + 1 < len(lines) and _TABLE_SEPARATOR.match(lines[i + 1]):
            flush()
            header = _cells(line)
            rows = []
            i += 2
            while i < len(lines) and "|" in lines[i] and lines[i].strip():
                rows.append(_cells(lines[i]))
                i += 1
            head = "".join(f'<th scope="col">{_inline(c)}</th>' for c in header)
            body_html = "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body_html}</tbody></table>")
            continue
        for pattern, tag in ((_BULLET, "ul"), (_NUMBERED, "ol")):
            if pattern.match(line):
                flush()
                items = []
                while i < len(lines) and (item := pattern.match(lines[i])):
                    items.append(item.group(1))
                    i += 1
                    while i < len(lines) and lines[i].startswith(("  ", "\t")) and lines[i].strip() and not pattern.match(lines[i]):
                        items[-1] += " " + lines[i].strip()
                        i += 1
                out.append(f"<{tag}>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + f"</{tag}>")
                break
        else:
            paragraph.append(line.strip())
            i += 1
    flush()
    return "\n".join(out)

"""The description renderer: the common Markdown subset, and never raw HTML or unsafe links."""

from competitions.markdown import render_markdown


def test_headings_paragraphs_lists_and_emphasis():
    html = render_markdown("# Title\n\nSome **bold** and *soft* text with `code`.\n\n- one\n- two\n\n1. first\n2. second")
    assert "<h2>Title</h2>" in html
    assert "<strong>bold</strong>" in html and "<em>soft</em>" in html and "<code>code</code>" in html
    assert "<ul><li>one</li><li>two</li></ul>" in html
    assert "<ol><li>first</li><li>second</li></ol>" in html


def test_raw_html_is_shown_as_text():
    html = render_markdown('Hello <script>alert("x")</script> <img src=x onerror=alert(1)>')
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html


def test_only_safe_links_become_links():
    html = render_markdown("[paper](https://example.org/a?b=1&c=2) [bad](javascript:alert(1)) [local](/competitions/x/)")
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">paper</a>' in html
    assert "javascript:" not in html and "bad" in html
    assert '<a href="/competitions/x/">local</a>' in html


def test_code_blocks_keep_their_text_verbatim():
    html = render_markdown("```\n**not bold** <b>\n```")
    assert "<pre><code>**not bold** &lt;b&gt;</code></pre>" in html


def test_tables_and_quotes():
    html = render_markdown("| metric | meaning |\n|---|---|\n| AUC | area |\n\n> quoted")
    assert '<th scope="col">metric</th>' in html and "<td>AUC</td>" in html
    assert "<blockquote><p>quoted</p></blockquote>" in html


def test_snake_case_words_are_not_emphasised():
    assert "<em>" not in render_markdown("the column record_id and is_member_flag")


def test_links_that_browsers_read_as_another_host_are_not_links():
    """A backslash is a slash to a browser, and tabs or newlines in a URL are dropped: each of
    these would leave the site while looking like a local link."""
    for url in ["/\\evil.example/x", "/\\\\evil.example", "\\/evil.example", "\\\\evil.example", "//evil.example/x",
                "/\\/evil.example", "https:\\\\evil.example", "https:/\\evil.example", "http:evil.example", "https://"]:
        html = render_markdown(f"[here]({url})")
        assert "<a " not in html, (url, html)
        assert "here" in html
    assert '<a href="/competitions/x/?a=1#b">ok</a>' in render_markdown("[ok](/competitions/x/?a=1#b)")
    assert '<a href="#scores">ok</a>' in render_markdown("[ok](#scores)")

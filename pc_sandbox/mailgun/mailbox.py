"""An HTML page listing sent messages, so the demo can show the emails."""

from __future__ import annotations

from html import escape
from typing import Any

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;background:#f6f7f9;color:#222}
h1{font-size:1.4rem} .msg{background:#fff;border:1px solid #ddd;border-radius:8px;
margin:1rem 0;padding:1rem} .meta{color:#555;font-size:.9rem}
.subject{font-weight:600;font-size:1.1rem} pre{white-space:pre-wrap;font-family:inherit}
iframe{width:100%;min-height:12rem;border:1px solid #eee} .tag{background:#e6eefc;
border-radius:4px;padding:0 .4rem;margin-right:.3rem;font-size:.8rem}
"""


def _body(message: dict[str, Any]) -> str:
    if message.get("html"):
        return f'<iframe sandbox="" srcdoc="{escape(message["html"], quote=True)}"></iframe>'
    return f"<pre>{escape(message.get('text') or '')}</pre>"


def _card(message: dict[str, Any]) -> str:
    tags = "".join(f'<span class="tag">{escape(str(t))}</span>' for t in message["tags"])
    return (
        '<div class="msg">'
        f'<div class="subject">{escape(message["subject"])}</div>'
        f'<div class="meta">From: {escape(message["from"])}<br>'
        f"To: {escape(', '.join(message['to']))}<br>"
        f"Time: {escape(message['received_at'])} {tags}</div>"
        f"{_body(message)}</div>"
    )


def render(messages: list[dict[str, Any]], to: str | None) -> str:
    """The whole page, newest message first."""
    title = f"Sandbox mailbox for {escape(to)}" if to else "Sandbox mailbox"
    cards = "".join(_card(m) for m in messages) or "<p>No messages yet.</p>"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{title} ({len(messages)})</h1>"
        f"{cards}</body></html>"
    )

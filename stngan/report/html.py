"""One self-contained HTML file: inline CSS, images as data URIs, no script and no external URL."""
from __future__ import annotations

import html
from dataclasses import dataclass

from stngan.report.tables import Table

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}h3{font-size:1.05em}
table{border-collapse:collapse;font-size:.82em;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:first-child,td:nth-child(2),th{text-align:left}th{background:#f2f2f2}tr:nth-child(even) td{background:#fafafa}
img{max-width:100%}nav a{margin-right:1em}.note{color:#555;font-size:.85em}code{background:#f4f4f4;padding:0 .2em}
"""


@dataclass
class Section:
    """A top-level section; ``body`` is trusted HTML built by this package."""

    id: str
    title: str
    body: str


def table_html(t: Table) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.header)
    rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in t.rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in t.notes)
    return (f"<h3>{html.escape(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            + (f'<ul class="note">{notes}</ul>' if notes else ""))


def figure_html(data_uri: str, caption: str) -> str:
    if not data_uri.startswith("data:image/png;base64,"):
        raise ValueError("report images must be PNG data URIs")
    return f'<figure><img src="{data_uri}" alt="{html.escape(caption)}"><figcaption class="note">{html.escape(caption)}</figcaption></figure>'


def paragraph(text: str) -> str:
    return f"<p>{html.escape(text)}</p>"


def render(title: str, sections: list[Section]) -> str:
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    body = "".join(f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>{s.body}</section>' for s in sections)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1><nav>{nav}</nav>{body}</body></html>\n")

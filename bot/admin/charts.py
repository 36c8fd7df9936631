"""Charts as inline SVG, drawn on the server: no script, no CDN, sharp on a phone.

Each chart scales to its container (viewBox + width 100%) and carries a
<title> per mark, so a long press or hover shows the exact figure.
"""
from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape

ANSWERED, UNANSWERED, OTHER, LINE, GRID, TEXT = "#2f855a", "#dd6b20", "#a0aec0", "#2b6cb0", "#e2e8f0", "#4a5568"


def _nice_max(value: float) -> int:
    """The smallest round top of the axis that fits `value` and splits into four whole ticks."""
    for top in (4, 8, 12, 20, 40, 60, 80, 100, 200, 400, 600, 800, 1000, 2000, 4000, 8000, 10000, 20000, 40000):
        if value <= top:
            return top
    return int(value // 4 + 1) * 4


def _svg(width: int, height: int, body: list[str], label: str) -> Markup:
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="sans-serif" font-size="12">' + "".join(body) + "</svg>"
    )


def messages_per_day(per_day: list[dict[str, Any]]) -> Markup:
    """Stacked bars per day: answered, not answered, other (events, images, ...)."""
    width, height, left, bottom, top = 420, 200, 34, 26, 10
    n = max(len(per_day), 1)
    peak = _nice_max(max((d["messages"] for d in per_day), default=0))
    plot_h = height - bottom - top
    slot = (width - left - 8) / n
    bar = max(slot * 0.7, 2)
    body = []
    for i in range(5):  # grid and y labels
        v = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{v:g}</text>')
    every = max(1, round(n / 6))
    for i, d in enumerate(per_day):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        other = d["messages"] - d["answered"] - d["unanswered"]
        for value, colour, what in ((d["answered"], ANSWERED, "已回答"), (d["unanswered"], UNANSWERED, "未回答"),
                                    (other, OTHER, "其他")):
            if value <= 0:
                continue
            h = plot_h * value / peak
            y -= h
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{colour}">'
                        f'<title>{escape(d["day"])} {what} {value}</title></rect>')
        if (n - 1 - i) % every == 0:  # count back from today, so today is always labelled
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">'
                        f'{escape(d["day"][5:])}</text>')
    return _svg(width, height, body, "每日消息数")


def answered_rate(per_day: list[dict[str, Any]]) -> Markup:
    """The share of judged questions answered from the knowledge base, per day, as a line."""
    width, height, left, bottom, top = 420, 150, 34, 26, 10
    n = max(len(per_day), 1)
    plot_h = height - bottom - top
    slot = (width - left - 8) / n
    body = []
    for pct in (0, 50, 100):
        y = top + plot_h - plot_h * pct / 100
        body.append(f'<line x1="{left}" x2="{width - 4}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="{TEXT}">{pct}%</text>')
    points = []
    for i, d in enumerate(per_day):
        judged = d["answered"] + d["unanswered"]
        if not judged:
            continue
        rate = d["answered"] / judged
        x, y = left + i * slot + slot / 2, top + plot_h - plot_h * rate
        points.append(f"{x:.1f},{y:.1f}")
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{LINE}">'
                    f'<title>{escape(d["day"])} 回答率 {rate:.0%}（{d["answered"]}/{judged}）</title></circle>')
    if len(points) > 1:
        body.insert(6, f'<polyline points="{" ".join(points)}" fill="none" stroke="{LINE}" stroke-width="2"/>')
    every = max(1, round(n / 6))
    for i, d in enumerate(per_day):
        if (n - 1 - i) % every == 0:
            x = left + i * slot + slot / 2
            body.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" fill="{TEXT}">'
                        f'{escape(d["day"][5:])}</text>')
    return _svg(width, height, body, "每日回答率")


def horizontal_bars(items: list[tuple[str, int]], colour: str = LINE, label: str = "") -> Markup:
    """Labelled horizontal bars, longest first: top intents, top unanswered questions."""
    if not items:
        return Markup('<p class="muted">暂无数据</p>')
    row, width, label_w = 26, 420, 160
    height = row * len(items) + 6
    peak = max(v for _, v in items) or 1
    body = []
    for i, (name, value) in enumerate(items):
        y = 4 + i * row
        short = name if len(name) <= 11 else name[:10] + "…"
        w = (width - label_w - 40) * value / peak
        body.append(f'<text x="{label_w - 6}" y="{y + 16}" text-anchor="end" fill="{TEXT}">'
                    f'<title>{escape(name)}</title>{escape(short)}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" height="{row - 8}" rx="3" '
                    f'fill="{colour}"><title>{escape(name)}：{value}</title></rect>')
        body.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" fill="{TEXT}">{value}</text>')
    return _svg(width, height, body, label)

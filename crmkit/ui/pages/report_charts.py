"""Charts of the reports page, drawn on the server as SVG (no script, no CDN).

Each function returns an ``<svg>`` element as :class:`markupsafe.Markup`, every text escaped,
colours as presentation attributes (the UI's Content-Security-Policy forbids inline styles).
The ``viewBox`` scales to the page: at 360 px wide a label sits above its bar, never beside it.
"""

from __future__ import annotations

from typing import Sequence

from markupsafe import Markup, escape

WIDTH = 340
GREY, RED, GREEN = "#9ca3af", "#dc2626", "#16a34a"


def _svg(height: float, body: list[str], title: str, width: float = WIDTH, cls: str = "chart") -> Markup:
    return Markup(f'<svg class="{cls}" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" role="img" '
                  f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg" font-size="13" '
                  f'font-family="system-ui, sans-serif"><title>{escape(title)}</title>{"".join(body)}</svg>')


def bars(rows: Sequence[tuple[str, float | None, str]], *, title: str, color: str) -> Markup:
    """Horizontal bars: ``(label, value, text shown after the bar)`` per row; the label above its bar."""
    top = max((v for _, v, _ in rows if v), default=0) or 1
    body, y = [], 4.0
    for label, value, note in rows:
        w = (WIDTH - 110) * (value or 0) / top
        body.append(f'<text x="0" y="{y + 12:.0f}" fill="currentColor">{escape(label)}</text>')
        body.append(f'<rect x="0" y="{y + 18:.0f}" width="{max(w, 1):.1f}" height="12" rx="2" fill="{escape(color)}"/>')
        body.append(f'<text x="{w + 6:.1f}" y="{y + 29:.0f}" fill="currentColor">{escape(note)}</text>')
        y += 36
    return _svg(y + 4, body, title)


def growth(months: Sequence[tuple[str, int, int, int]], *, title: str, color: str) -> Markup:
    """Per month ``(YYYY-MM, new, lost, base)``: new (up) and lost (down) columns, the base as a line."""
    if not months:
        return _svg(20, ['<text x="0" y="14" fill="currentColor">–</text>'], title)
    h, mid, left = 180.0, 90.0, 4.0
    peak = max(max(n, lo) for _, n, lo, _ in months) or 1
    base_top = max(b for *_, b in months) or 1
    step = (WIDTH - left) / len(months)
    bw = min(max(step * 0.35, 1), 18)
    body = [f'<line x1="0" y1="{mid}" x2="{WIDTH}" y2="{mid}" stroke="{GREY}"/>']
    points = []
    for i, (month, new, lost, base) in enumerate(months):
        x = left + i * step
        up, down = (mid - 14) * new / peak, (mid - 14) * lost / peak
        body.append(f'<rect x="{x:.1f}" y="{mid - up:.1f}" width="{bw:.1f}" height="{up:.1f}" fill="{GREEN}">'
                    f'<title>{escape(month)}: +{new}</title></rect>')
        body.append(f'<rect x="{x + bw:.1f}" y="{mid:.1f}" width="{bw:.1f}" height="{down:.1f}" fill="{RED}">'
                    f'<title>{escape(month)}: -{lost}</title></rect>')
        points.append(f"{x + bw:.1f},{mid - (mid - 14) * base / base_top:.1f}")
        if i % max(1, len(months) // 4) == 0:
            body.append(f'<text x="{x:.1f}" y="{h - 2:.0f}" fill="currentColor" font-size="11">{escape(month)}</text>')
    body.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{escape(color)}" stroke-width="2"/>')
    return _svg(h + 4, body, title)


def heatmap(rows: Sequence[tuple[str, int, Sequence[float | None]]], *, title: str, color: str) -> Markup:
    """Cohorts: per row ``(cohort, customers, shares of months 1..n)``, each cell's opacity its share."""
    label_w, cell_h = 92.0, 20.0
    cols = max((len(s) for *_, s in rows), default=12)
    cw = (WIDTH - label_w) / max(cols, 1)
    body = [f'<text x="{label_w + i * cw + 2:.1f}" y="14" fill="currentColor" font-size="11">{i + 1}</text>'
            for i in range(cols)]
    y = 20.0
    for cohort, size, shares in rows:
        body.append(f'<text x="0" y="{y + 14:.0f}" fill="currentColor" font-size="12">{escape(cohort)} ({size})</text>')
        for i, share in enumerate(shares):
            if share is None:
                continue
            x = label_w + i * cw
            body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{cw - 2:.1f}" height="{cell_h - 2:.1f}" '
                        f'fill="{escape(color)}" fill-opacity="{0.08 + 0.92 * share:.2f}">'
                        f'<title>{escape(cohort)} +{i + 1}: {share:.0%}</title></rect>')
        y += cell_h
    return _svg(y + 4, body, title)


def calibration(points: Sequence[tuple[float, float, int]], *, title: str, color: str) -> Markup:
    """Predicted (x) against actual (y) win rate per band, ``(predicted, actual, n)``, and the diagonal."""
    size, pad = 300.0, 28.0
    scale = size - 2 * pad

    def xy(px: float, py: float) -> tuple[float, float]:
        return pad + px * scale, size - pad - py * scale

    body = [f'<rect x="{pad}" y="{pad}" width="{scale}" height="{scale}" fill="none" stroke="{GREY}"/>',
            f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="{GREY}" stroke-dasharray="4 3"/>',
            f'<text x="{pad}" y="{size - 8:.0f}" fill="currentColor" font-size="11">0</text>',
            f'<text x="{size - pad - 6:.0f}" y="{size - 8:.0f}" fill="currentColor" font-size="11">1</text>']
    top = max((n for *_, n in points), default=1) or 1
    for px, py, n in points:
        x, y = xy(px, py)
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{3 + 7 * (n / top) ** 0.5:.1f}" fill="{escape(color)}" '
                    f'fill-opacity="0.7"><title>{px:.2f} → {py:.2f} ({n})</title></circle>')
    return _svg(size, body, title, width=size, cls="chart square")

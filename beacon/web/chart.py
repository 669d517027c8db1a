"""The frequency bar chart as server-side SVG (no JavaScript): one bar per population and sex."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from beacon.web.answer import Frequency, format_percent

_ROW, _LABEL, _BAR, _VALUE = 22, 230, 360, 90
_COLOURS = {None: "#1f4e79", "female": "#8a3b12", "male": "#2e6b30"}  # 4.5:1+ contrast on white


def frequency_chart(rows: Sequence[Frequency], title: str) -> Markup:
    """An accessible SVG bar chart of `rows`' allele frequencies, scaled to the highest one."""
    highest = max((row.allele_frequency for row in rows), default=0.0) or 1.0
    height = _ROW * len(rows) + 30
    width = _LABEL + _BAR + _VALUE
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="chart-title chart-desc">',
        f'<title id="chart-title">{escape(title)}</title>',
        '<desc id="chart-desc">Allele frequency per population and sex; bars are scaled to the highest '
        f"frequency shown ({escape(format_percent(highest))}). The table above holds the same numbers.</desc>",
    ]
    for number, row in enumerate(rows):
        parts.append(_bar(number, row, highest))
    axis_y = _ROW * len(rows) + 18
    top = escape(format_percent(highest))
    parts.append(
        f'<text x="{_LABEL}" y="{axis_y}" class="axis">0</text>'
        f'<text x="{_LABEL + _BAR}" y="{axis_y}" class="axis" text-anchor="end">{top}</text>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(number: int, row: Frequency, highest: float) -> str:
    y = number * _ROW + 4
    length = round(_BAR * row.allele_frequency / highest, 1)
    colour = _COLOURS.get(row.sex, _COLOURS[None])
    label = escape(row.label)
    value = escape(format_percent(row.allele_frequency))
    return (
        f'<g class="bar" data-population="{escape(row.code)}" data-frequency="{row.allele_frequency}">'
        f'<text x="{_LABEL - 8}" y="{y + 14}" text-anchor="end">{label}</text>'
        f'<rect x="{_LABEL}" y="{y}" width="{length}" height="{_ROW - 6}" fill="{colour}">'
        f"<title>{label}: {value}</title></rect>"
        f'<text x="{_LABEL + length + 6}" y="{y + 14}">{value}</text></g>'
    )

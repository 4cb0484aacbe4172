"""QR label sheets (SVG) for a serial range of a code batch, drawn locally with segno."""

from __future__ import annotations

from html import escape

import segno

from anticounterfeit import codes
from anticounterfeit.service import PrintJob

COLUMNS = 5
CELL_W, CELL_H = 200, 250
MODULE = 4  # px per QR module
QUIET = 2  # modules of margin inside the cell


def _qr_path(url: str, x0: int, y0: int) -> tuple[str, int]:
    """An SVG path of the QR's dark modules at (x0, y0), and its side in px."""
    matrix = segno.make_qr(url, error="m").matrix
    parts = []
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                parts.append(f"M{x0 + x * MODULE} {y0 + y * MODULE}h{MODULE}v{MODULE}h-{MODULE}z")
    return "".join(parts), len(matrix) * MODULE


def _label(index: int, serial: int, code: str, pin: str, url: str) -> str:
    col, row = index % COLUMNS, index // COLUMNS
    x, y = col * CELL_W, row * CELL_H
    path, side = _qr_path(url, 0, 0)
    scale = min(1.0, (CELL_W - 2 * QUIET * MODULE) / side)
    offset = (CELL_W - side * scale) / 2
    return (
        f'<g transform="translate({x},{y})">'
        f'<rect width="{CELL_W}" height="{CELL_H}" fill="#fff" stroke="#ddd"/>'
        f'<path transform="translate({offset:.1f},8) scale({scale:.3f})" d="{path}" fill="#000"/>'
        f'<text x="{CELL_W / 2}" y="{CELL_H - 40}" text-anchor="middle" font-size="12" '
        f'font-family="monospace">{escape(code)}</text>'
        f'<text x="{CELL_W / 2}" y="{CELL_H - 24}" text-anchor="middle" font-size="10">'
        f"No. {serial}</text>"
        f'<text x="{CELL_W / 2}" y="{CELL_H - 8}" text-anchor="middle" font-size="10">'
        f"PIN {escape(pin)} (scratch-off)</text></g>"
    )


def sheet_svg(job: PrintJob, title: str) -> str:
    """One SVG page with a label (QR, code, serial, PIN) per unit of ``job``'s range."""
    prefix = f"{job.base_url.rstrip('/')}/01/{job.gtin}/21/"
    items = codes.encode_range(job.key, job.start, job.stop, pin_digits=job.pin_digits)
    cells = [_label(i, s, c, p, prefix + c) for i, (s, c, p) in enumerate(items)]
    rows = max(1, -(-len(cells) // COLUMNS))
    width, height = COLUMNS * CELL_W, rows * CELL_H + 30
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
        f'<g transform="translate(0,30)">{"".join(cells)}</g>'
        f'<text x="8" y="20" font-size="14">{escape(title)} · {job.start}-{job.stop - 1}</text>'
        "</svg>"
    )

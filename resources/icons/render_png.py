"""Render photolab.svg to photolab-256.png (run after editing the SVG): .venv/bin/python resources/icons/render_png.py"""

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent


def render(size: int = 256) -> Path:
    renderer = QSvgRenderer(str(HERE / "photolab.svg"))
    if not renderer.isValid():
        sys.exit("photolab.svg is not valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    target = HERE / f"photolab-{size}.png"
    image.save(str(target))
    return target


if __name__ == "__main__":
    app = QGuiApplication(sys.argv[:1] + ["-platform", "offscreen"])
    print(render())

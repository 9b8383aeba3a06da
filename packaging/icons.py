"""Makes the Windows .ico and macOS .icns from the app icon in resources/icons (a packaging-time tool).

The PNG sizes up to 256 px are resources/icons/projectdesk-*.png (rendered from projectdesk.svg by
scripts/render_icons.py); 512 and 1024 px, which only the .icns needs, are rendered from the SVG with Qt's
own renderer here. Pillow writes both containers; it is in the `packaging` extra, never a runtime dependency.

Run after changing the icon: `.venv/bin/python packaging/icons.py` (headless: offscreen Qt).
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
ICONS = ROOT / "resources" / "icons"
ICO = ROOT / "packaging" / "windows" / "projectdesk.ico"
ICNS = ROOT / "packaging" / "macos" / "projectdesk.icns"
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # Explorer, taskbar, Start menu, installer
ICNS_SIZES = (16, 32, 64, 128, 256, 512, 1024)  # Finder and Dock, 1x and 2x


def render_svg(size: int) -> Image.Image:
    """projectdesk.svg at size x size px, by Qt's SVG renderer (as the PNGs were made)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PIL import Image
    from PySide6.QtCore import QBuffer, QIODevice, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    renderer = QSvgRenderer(str(ICONS / "projectdesk.svg"))
    if not renderer.isValid():
        raise SystemExit("resources/icons/projectdesk.svg is not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return Image.open(io.BytesIO(bytes(buffer.data().data()))).convert("RGBA")


def icon_image(size: int) -> Image.Image:
    from PIL import Image

    png = ICONS / f"projectdesk-{size}.png"
    if png.is_file():
        return Image.open(png).convert("RGBA")
    return render_svg(size)


def main() -> int:
    ico_images = [icon_image(size) for size in ICO_SIZES]
    ICO.parent.mkdir(parents=True, exist_ok=True)
    ico_images[-1].save(ICO, format="ICO", sizes=[(s, s) for s in ICO_SIZES], append_images=ico_images[:-1])
    print(ICO.relative_to(ROOT))

    icns_images = [icon_image(size) for size in ICNS_SIZES]
    ICNS.parent.mkdir(parents=True, exist_ok=True)
    icns_images[-1].save(ICNS, format="ICNS", append_images=icns_images[:-1])
    print(ICNS.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())

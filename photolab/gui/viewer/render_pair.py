"""What the viewer keeps of one image it shows: the proxy render and, when zoomed in, the full-resolution
render of the same recipe (the edited photo, and in split view the "before" photo too)."""

from __future__ import annotations

from photolab.gui.viewer.rendering import RenderedImage


class RenderPair:
    """A proxy render and the full-resolution render of the same recipe and before/after state."""

    def __init__(self) -> None:
        self.base: RenderedImage | None = None  # the proxy render
        self.detail: RenderedImage | None = None  # the full-resolution render of the same recipe

    def set(self, rendered: RenderedImage) -> None:
        """Keep a render; a proxy render drops a full-resolution one made for another recipe."""
        if rendered.full_resolution:
            self.detail = rendered
        else:
            self.base = rendered
            detail = self.detail
            if detail is not None and (detail.recipe != rendered.recipe or detail.before != rendered.before):
                self.detail = None

    def clear(self) -> None:
        self.base = self.detail = None

    @property
    def displayed(self) -> RenderedImage | None:
        """The render to draw (full resolution when available)."""
        return self.detail or self.base

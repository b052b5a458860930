"""Star ratings (0-5) and the reject flag, kept in the photo's sidecar beside its recipe.

The sidecar ``IMG_0001.CR2.photolab.json`` gets two top-level keys, ``"rating"`` (0-5) and ``"rejected"``
(true/false); a sidecar without them (as older PhotoLabs wrote) means 0 stars, not rejected, and older
PhotoLabs ignore them. Rating a photo that has no sidecar writes one with the neutral recipe. Writes are
atomic, and a sidecar this PhotoLab cannot read is never overwritten (RecipeError).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from photolab.core.errors import RecipeError
from photolab.core.recipe import read_sidecar_data, sidecar_path, update_sidecar_data

MAX_STARS = 5
REJECTED_FILTERS = ("include", "exclude", "only")  # what a filter does with rejected photos


@dataclass(frozen=True)
class Rating:
    """A photo's stars (0-5) and whether it is rejected."""

    stars: int = 0
    rejected: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.stars, bool) or not isinstance(self.stars, int) or not 0 <= self.stars <= MAX_STARS:
            raise ValueError(f"a rating is 0 to {MAX_STARS} stars, not {self.stars!r}")
        if not isinstance(self.rejected, bool):
            raise ValueError(f"the reject flag is true or false, not {self.rejected!r}")

    def label(self) -> str:
        """'★★★☆☆', with ' rejected' when rejected."""
        text = "★" * self.stars + "☆" * (MAX_STARS - self.stars)
        return text + " rejected" if self.rejected else text


def rating_from_data(data: dict | None) -> Rating:
    """The rating in a sidecar's JSON object (None: no sidecar); raises RecipeError for invalid values."""
    if data is None:
        return Rating()
    try:
        return Rating(data.get("rating", 0), data.get("rejected", False))
    except ValueError as exc:
        raise RecipeError(f"invalid rating in the sidecar: {exc}") from None


def read_rating(photo_path: str | Path) -> Rating:
    """The rating stored beside ``photo_path`` (0 stars, not rejected, without a sidecar); raises RecipeError
    naming the sidecar when it cannot be read."""
    data = read_sidecar_data(photo_path)  # its errors name the sidecar
    try:
        return rating_from_data(data)
    except RecipeError as exc:
        raise RecipeError(f"{sidecar_path(photo_path)}: {exc}") from None


def set_rating(photo_path: str | Path, *, stars: int | None = None, rejected: bool | None = None) -> Rating:
    """Store the stars and/or the reject flag (None: keep) beside ``photo_path``, atomically; returns the new
    rating. Raises ValueError for a bad value, RecipeError for an unreadable sidecar, FileAccessError when the
    folder cannot be written, FileNotFoundError when the photo does not exist."""
    photo_path = Path(photo_path)
    changes = {}
    if stars is not None:
        changes["rating"] = Rating(stars).stars
    if rejected is not None:
        changes["rejected"] = Rating(0, rejected).rejected
    if not photo_path.is_file():
        raise FileNotFoundError(f"{photo_path}: no such photo")
    return rating_from_data(update_sidecar_data(photo_path, changes))


def matches(rating: Rating, *, min_stars: int = 0, rejected: str = "include") -> bool:
    """True when ``rating`` passes the filter: at least ``min_stars`` stars, and rejected photos included,
    excluded or the only ones shown (``rejected`` one of REJECTED_FILTERS)."""
    if rejected not in REJECTED_FILTERS:
        raise ValueError(f"rejected must be one of {', '.join(REJECTED_FILTERS)}, not {rejected!r}")
    if rejected == "exclude" and rating.rejected or rejected == "only" and not rating.rejected:
        return False
    return rating.stars >= min_stars

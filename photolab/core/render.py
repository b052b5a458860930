"""The pixel pipeline: a recipe rendered on a photo, whole or in part (darktable's pixelpipe).

The operations run in one fixed order (``photolab.core.develop.OPERATIONS``, versioned by ``ORDER_VERSION``);
a recipe only says which are on and with what parameters. :func:`render` can

* run part of that order: ``start_after`` (the photo given is that step's output) and ``stop_before`` (the
  result is that step's input); ``render(render(p, r, stop_before=s), r, start_after=t)`` with ``t`` the step
  just before ``s`` is ``render(p, r)``;
* develop only a ``region`` of the result: the region is mapped back through every step (geometry steps move
  it, neighbourhood steps widen it by their margin, steps that look at the whole photo take all of it), and
  only those input pixels are developed;
* reuse a :class:`PrefixCache`: the photo after the slow steps (denoise) and the geometry (lens correction,
  straighten, crop) is kept, keyed by the photo and the parameters of every step up to there, so an edit further
  down the pipeline (a tone or colour slider) does not run them again.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from photolab.core.develop import OPERATIONS, OPERATIONS_BY_NAME, Box, Operation, Size
from photolab.core.photo import Photo
from photolab.core.recipe import Recipe

Step = tuple[Operation, Any]  # an active operation and its params
CACHED_COST = 10.0  # steps at least this costly (see Operation.cost) have their output kept by a PrefixCache


def _position(name: str | None, default: int) -> int:
    if name is None:
        return default
    if name not in OPERATIONS_BY_NAME:
        raise KeyError(f"unknown operation {name!r}")
    return OPERATIONS.index(OPERATIONS_BY_NAME[name])


def steps(recipe: Recipe, *, start_after: str | None = None, stop_before: str | None = None) -> list[Step]:
    """The active steps of ``recipe`` after ``start_after`` and before ``stop_before`` (operation names,
    whether or not those operations are active), in pipeline order."""
    first = _position(start_after, -1) + 1
    end = _position(stop_before, len(OPERATIONS))
    return [(op, params) for op, params in recipe.active_operations() if first <= OPERATIONS.index(op) < end]


def is_geometry(op: Operation) -> bool:
    """True for steps that move pixels (orient, crop): they map regions to other places."""
    return op.region_in is not None


def is_kept(op: Operation) -> bool:
    """True for steps whose output a :class:`PrefixCache` keeps: the slow ones, and the geometry, which a
    slider further down the pipeline never changes."""
    return op.cost >= CACHED_COST or is_geometry(op)


def geometry_recipe(recipe: Recipe) -> Recipe:
    """Only the geometry of ``recipe`` (the "before" view: unedited, but turned and cropped like the edit)."""
    names = frozenset(op.name for op in OPERATIONS if is_geometry(op))
    return Recipe(params={name: value for name, value in recipe.params.items() if name in names},
                  disabled=recipe.disabled & names)


def output_size(size: Size, recipe: Recipe, *, start_after: str | None = None,
                stop_before: str | None = None) -> Size:
    """(width, height) of what :func:`render` makes of a photo of ``size``."""
    return _sizes(size, steps(recipe, start_after=start_after, stop_before=stop_before))[-1]


def region_around(size: Size, center: tuple[float, float], side: int) -> Box:
    """The ``side`` x ``side`` box around ``center``, moved inside an image of ``size`` (smaller if it is)."""
    boxes = []
    for extent, middle in zip(size, center):
        length = min(side, extent)
        start = int(round(middle - length / 2))
        start = min(max(start, 0), extent - length)
        boxes.append((start, start + length))
    (x0, x1), (y0, y1) = boxes
    return x0, y0, x1, y1


def grown(box: Box, margin: int, size: Size) -> Box:
    """``box`` widened by ``margin`` on each side, as far as an image of ``size`` goes."""
    x0, y0, x1, y1 = box
    return max(0, x0 - margin), max(0, y0 - margin), min(size[0], x1 + margin), min(size[1], y1 + margin)


def _sizes(size: Size, plan: list[Step]) -> list[Size]:
    """The input size of every step, then the output's."""
    sizes = [tuple(size)]
    for op, params in plan:
        sizes.append(op.output_size(params, sizes[-1]) if op.output_size is not None else sizes[-1])
    return sizes


def _regions(sizes: list[Size], plan: list[Step], region: Box) -> list[Box]:
    """The box of every step's input that ``region`` of the output needs, then ``region``."""
    boxes = [region]
    for (op, params), size in zip(reversed(plan), reversed(sizes[:-1])):
        box = boxes[0]
        if op.region_in is not None:
            box = op.region_in(params, size, box)
        else:
            margin = op.margin(params) if op.margin is not None else 0
            box = (0, 0, *size) if margin is None else grown(box, margin, size)
        boxes.insert(0, box)
    return boxes


def input_region(size: Size, recipe: Recipe, region: Box, *, start_after: str | None = None,
                 stop_before: str | None = None) -> Box:
    """The box of a photo of ``size`` that :func:`render` develops to make ``region`` of its result."""
    plan = steps(recipe, start_after=start_after, stop_before=stop_before)
    sizes = _sizes(size, plan)
    return _regions(sizes, plan, _checked(region, sizes[-1]))[0]


def _checked(region: Box, size: Size) -> Box:
    x0, y0, x1, y1 = (int(v) for v in region)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(size[0], x1), min(size[1], y1)
    if x0 >= x1 or y0 >= y1:
        raise ValueError(f"region {tuple(region)} lies outside the {size[0]}x{size[1]} result")
    return x0, y0, x1, y1


def _cut(photo: Photo, box: Box, origin: tuple[int, int] = (0, 0)) -> Photo:
    """The pixels of ``box`` (in a frame where ``photo``'s top left pixel is at ``origin``)."""
    x0, y0, x1, y1 = box[0] - origin[0], box[1] - origin[1], box[2] - origin[0], box[3] - origin[1]
    if (x0, y0, x1, y1) == (0, 0, photo.width, photo.height):
        return photo
    return photo.with_pixels(photo.pixels[y0:y1, x0:x1])


def _key(plan: list[Step]) -> tuple:
    return tuple((op.name, params) for op, params in plan)


class PrefixCache:
    """The photo after the slow steps (denoise: see ``CACHED_COST``) and the geometry steps of the last recipe
    rendered through it (see ``is_kept``), keyed by the photo (its identity), where the render started and
    every step's parameters up to there.

    With ``entries`` > 1 it also keeps the photo after the first kept step of a render that started from
    scratch (lens correction, or the quarter turns), the least recently used entry making way: dragging the
    straighten slider then starts from the corrected photo instead of correcting the lens again.

    Thread-safe, and shared by whoever renders the same photo (the preview, the model panels): a render that
    would run the slow steps another render is already running on the same photo waits for that one's
    result (see :meth:`claim`) instead of running them twice. Holds ``entries`` images, the size of the photo.
    """

    WAIT_POLL_S = 0.05  # how often a waiting render reports progress (which is how its job cancels)

    def __init__(self, entries: int = 1) -> None:
        self._lock = threading.Lock()
        self._size = max(1, entries)
        self._entries: list[tuple[Photo, str | None, tuple, Photo]] = []  # (source, start_after, key, stage)
        self._running: list[_Claim] = []  # slow prefixes some render is computing now

    @property
    def keeps_first_step(self) -> bool:
        return self._size > 1

    def clear(self) -> None:
        with self._lock:
            self._entries = []

    def lookup(self, photo: Photo, plan: list[Step], start_after: str | None = None) -> tuple[int, Photo] | None:
        """(number of steps done, their output) cached for ``photo`` and the start of ``plan`` (the longest
        such start kept), or None."""
        with self._lock:
            entries = list(self._entries)
        matches = [entry for entry in entries if entry[0] is photo and entry[1] == start_after
                   and _key(plan[:len(entry[2])]) == entry[2]]
        if not matches:
            return None
        best = max(matches, key=lambda entry: len(entry[2]))
        with self._lock:  # the most recently used goes last
            if best in self._entries:
                self._entries.remove(best)
                self._entries.append(best)
        return len(best[2]), best[3]

    def store(self, photo: Photo, start_after: str | None, done: list[Step], stage: Photo) -> None:
        """Keep ``stage``: ``photo`` after the steps ``done`` (the least recently used entry makes way)."""
        key = _key(done)
        with self._lock:
            self._entries = [entry for entry in self._entries
                             if not (entry[0] is photo and entry[1] == start_after and entry[2] == key)]
            self._entries.append((photo, start_after, key, stage))
            del self._entries[:-self._size]

    def claim(self, photo: Photo, plan: list[Step], start_after: str | None = None,
              progress: Callable[[float], None] | None = None) -> tuple[tuple[int, Photo] | None, "_Claim | None"]:
        """Like :meth:`lookup`, for a render about to run ``plan``: when the hit (or None) leaves slow steps
        to run, either this render claims them (the claim is returned; :meth:`release` it once its result is
        stored) or another render holds that claim, and this one waits until it ends, then looks again.
        While waiting, ``progress(0.0)`` is called every ``WAIT_POLL_S`` seconds: an exception it raises ends
        the wait."""
        slow = _slow_key(plan)
        while True:
            hit = self.lookup(photo, plan, start_after)
            if slow is None or (hit is not None and hit[0] >= len(slow)):
                return hit, None
            with self._lock:
                running = next((claim for claim in self._running if claim.matches(photo, start_after, slow)), None)
                if running is None:
                    mine = _Claim(photo, start_after, slow)
                    self._running.append(mine)
            if running is None:
                return self.lookup(photo, plan, start_after), mine  # what was stored just before claiming
            while not running.done.wait(self.WAIT_POLL_S):
                if progress is not None:
                    progress(0.0)

    def release(self, claim: "_Claim") -> None:
        """End ``claim`` (stored or failed): renders waiting for it look again."""
        with self._lock:
            self._running = [running for running in self._running if running is not claim]
        claim.done.set()

    def runs_slow_step(self, photo: Photo, recipe: Recipe) -> bool:
        """True when rendering ``recipe`` on ``photo`` through this cache would run a slow step."""
        plan = steps(recipe)
        hit = self.lookup(photo, plan)
        return any(op.cost >= CACHED_COST for op, _ in plan[hit[0] if hit else 0:])


class _Claim:
    """A render computing ``photo``'s slow prefix ``key`` (from ``start_after``) for a :class:`PrefixCache`."""

    def __init__(self, photo: Photo, start_after: str | None, key: tuple) -> None:
        self.photo, self.start_after, self.key = photo, start_after, key
        self.done = threading.Event()

    def matches(self, photo: Photo, start_after: str | None, key: tuple) -> bool:
        return self.photo is photo and self.start_after == start_after and self.key == key


def _slow_key(plan: list[Step]) -> tuple | None:
    slow = [index for index, (op, _) in enumerate(plan) if op.cost >= CACHED_COST]
    return _key(plan[:slow[-1] + 1]) if slow else None


def slow_prefix(recipe: Recipe) -> tuple | None:
    """The steps of ``recipe`` up to its last slow one, with their parameters (what a PrefixCache keeps), or
    None when it has no slow step: two recipes with the same prefix share the slow work."""
    return _slow_key(steps(recipe))


def render(photo: Photo, recipe: Recipe, *, start_after: str | None = None, stop_before: str | None = None,
           region: Box | None = None, cache: PrefixCache | None = None,
           progress: Callable[[float], None] | None = None) -> Photo:
    """Apply the recipe's active operations in pipeline order, from the one after ``start_after`` (``photo`` is
    then that step's output) up to the one before ``stop_before`` (the result is that step's input), whether
    or not those two are active.

    ``region`` (x0, y0, x1, y1, end-exclusive, in the result's pixels): develop only that part, as a crop of
    the whole render (steps that look at their whole input, such as automatic white balance, still get it).
    ``cache``: start from, and keep, the photo after the slow steps. ``progress`` gets the fraction done after
    each step (and within slow steps, such as denoise's tiles), weighed by the steps' ``cost``; it is also how
    a job cancels: an exception it raises ends the render."""
    plan = steps(recipe, start_after=start_after, stop_before=stop_before)
    if region is not None:
        hit = cache.lookup(photo, plan, start_after) if cache is not None else None
        done, start = hit if hit is not None else (0, photo)
        return _render_region(start, plan[done:], region, progress)
    if cache is None:
        return _render_steps(photo, plan, progress)
    hit, claim = cache.claim(photo, plan, start_after, progress)
    try:
        return _render_steps(photo, plan, progress, cache, start_after, hit)
    finally:
        if claim is not None:
            cache.release(claim)


def _render_steps(photo: Photo, plan: list[Step], progress, cache: PrefixCache | None = None,
                  start_after: str | None = None, hit: tuple[int, Photo] | None = None) -> Photo:
    """``plan`` run on ``photo``, from the ``hit`` of ``cache`` if any, keeping what ``cache`` keeps."""
    source, done = photo, 0
    if hit is not None:
        done, photo = hit
    remaining = plan[done:]
    keep: tuple[int, ...] = ()
    if cache is not None:
        kept = [index for index, (op, _) in enumerate(remaining) if is_kept(op)]
        first = kept[:1] if hit is None and cache.keeps_first_step else []
        keep = tuple(dict.fromkeys(first + kept[-1:]))
    total = sum(op.cost for op, _ in remaining)
    finished = 0.0
    for index, (op, params) in enumerate(remaining):
        photo = _apply(op, params, photo, progress, finished, total)
        finished += op.cost
        if progress is not None:
            progress(finished / total)
        if index in keep:
            cache.store(source, start_after, plan[:done + index + 1], photo)
    return photo


def _apply(op: Operation, params: Any, photo: Photo, progress, finished: float, total: float) -> Photo:
    if progress is not None and op.reports_progress:
        def step_progress(fraction: float) -> None:
            progress((finished + op.cost * fraction) / total)

        return op.apply(photo, params, progress=step_progress)
    return op.apply(photo, params)


def _render_region(photo: Photo, plan: list[Step], region: Box, progress) -> Photo:
    """``region`` of ``render(photo, plan)``, developed from the input pixels it needs only."""
    sizes = _sizes((photo.width, photo.height), plan)
    boxes = _regions(sizes, plan, _checked(region, sizes[-1]))
    piece = _cut(photo, boxes[0])
    total = sum(op.cost for op, _ in plan)
    finished = 0.0
    for (op, params), box_in, box_out, size in zip(plan, boxes, boxes[1:], sizes):
        if op.apply_to_box is not None:  # where the piece lies in the frame matters
            piece = op.apply_to_box(piece, params, size, box_in, box_out)
        elif is_geometry(op):  # the piece is exactly the input's box_in: the step turns it into box_out
            piece = (op.apply_to_region or op.apply)(piece, params)
        else:  # same positions: keep what the next step needs
            piece = _cut(_apply(op, params, piece, progress, finished, total), box_out, box_in[:2])
        finished += op.cost
        if progress is not None:
            progress(finished / total)
    return piece

"""Small widgets of the develop panel: a labelled slider with a number box, reset by double-click (built
from a develop parameter's metadata by ``slider_for``), and the rule that a control takes the mouse wheel
only when it has the focus (so the wheel scrolls the panel)."""

from __future__ import annotations

import math
import time
from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractSlider, QAbstractSpinBox, QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel,
                               QSlider, QWidget)

from photolab.core.develop import OPERATIONS_BY_NAME
from photolab.core.develop.params import param_spec

MERGE_WINDOW_S = 1.0  # keyboard/wheel steps on the same control this close together form one undo step


class ResetLabel(QLabel):
    """A label that emits ``double_clicked`` (double-clicking a slider's name resets it)."""

    double_clicked = Signal()

    def mouseDoubleClickEvent(self, event) -> None:
        self.double_clicked.emit()
        event.accept()


class ParamSlider(QWidget):
    """Label, slider and number box for one float parameter.

    The slider travels [minimum, maximum]; the number box takes ``limits`` (default: the same), so a value
    beyond the slider's travel can be typed and the slider then rests at its end.

    ``edited(value, merge_key)`` fires only for user edits, never for ``set_value``. Double-clicking the
    label calls ``reset_handler`` (default: ``reset``, back to ``default``). Every edit of one
    slider drag carries the same ``merge_key`` (so the drag becomes one undo step); so do keyboard or wheel
    steps made within a second of each other. ``dragging(True)`` when the handle is grabbed, ``dragging(False)``
    when it is let go (the preview is drafted in between).
    """

    edited = Signal(float, str)
    dragging = Signal(bool)

    def __init__(self, name: str, label: str, minimum: float, maximum: float, default: float, *,
                 decimals: int = 0, step: float = 1.0, suffix: str = "",
                 to_fraction: Callable[[float], float] | None = None,
                 from_fraction: Callable[[float], float] | None = None, positions: int | None = None,
                 limits: tuple[float, float] | None = None, reset_handler: Callable[[], None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.default = default
        self._minimum, self._maximum = minimum, maximum
        self._decimals = decimals
        # The slider moves in integer positions; by default one position per step.
        self._positions = positions or round((maximum - minimum) / step)
        # value <-> fraction of the slider's travel (linear unless a mapping is given, see log_mapping)
        self._to_fraction = to_fraction or (lambda v: (v - minimum) / (maximum - minimum))
        self._from_fraction = from_fraction or (lambda f: minimum + f * (maximum - minimum))
        self._session = 0
        self._last_edit = 0.0
        self._updating = False

        self.label = ResetLabel(label)
        self.label.setToolTip(f"Double-click to reset {label.lower()}")
        self.label.setMinimumWidth(78)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, self._positions)
        self.slider.setPageStep(max(1, self._positions // 20))
        self.spin = QDoubleSpinBox()
        self.spin.setRange(*(limits or (minimum, maximum)))
        self.spin.setDecimals(decimals)
        self.spin.setSingleStep(step)
        self.spin.setSuffix(suffix)
        self.spin.setKeyboardTracking(False)
        self.spin.setButtonSymbols(QDoubleSpinBox.ButtonSymbols.NoButtons)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.spin.setFixedWidth(64 if not suffix else 78)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)

        self.label.double_clicked.connect(reset_handler or self.reset)
        self.slider.sliderPressed.connect(self._new_session)
        self.slider.sliderReleased.connect(self._new_session)
        self.slider.sliderPressed.connect(lambda: self.dragging.emit(True))
        self.slider.sliderReleased.connect(lambda: self.dragging.emit(False))
        self.slider.valueChanged.connect(self._on_slider)
        self.spin.valueChanged.connect(self._on_spin)
        self.set_value(default)

    # --- value ------------------------------------------------------------------------------------
    def value(self) -> float:
        return round(self.spin.value(), self._decimals)

    def set_value(self, value: float) -> None:
        """Show ``value`` without emitting ``edited`` (the recipe changed elsewhere: undo, reset, open)."""
        self._updating = True
        try:
            self.spin.setValue(value)
            self.slider.setValue(self._position_of(value))
        finally:
            self._updating = False

    def reset(self) -> None:
        """Back to the default value (one undoable edit)."""
        if self.value() != self.default:
            self._new_session()
            self._emit(self.default)
            self.set_value(self.default)
            self._new_session()

    def _position_of(self, value: float) -> int:
        fraction = self._to_fraction(min(max(value, self._minimum), self._maximum))
        return round(fraction * self._positions)

    def _value_at(self, position: int) -> float:
        value = self._from_fraction(position / self._positions)
        return round(min(max(value, self._minimum), self._maximum), self._decimals)

    # --- user edits -------------------------------------------------------------------------------
    def _new_session(self) -> None:
        self._session += 1

    def merge_key(self) -> str:
        return f"{self.name}#{id(self)}#{self._session}"

    def _emit(self, value: float) -> None:
        now = time.monotonic()
        if not self.slider.isSliderDown() and now - self._last_edit > MERGE_WINDOW_S:
            self._new_session()
        self._last_edit = now
        self.edited.emit(value, self.merge_key())

    def _on_slider(self, position: int) -> None:
        if self._updating:
            return
        value = self._value_at(position)
        self._updating = True
        try:
            self.spin.setValue(value)
        finally:
            self._updating = False
        self._emit(value)

    def _on_spin(self, value: float) -> None:
        if self._updating:
            return
        self._updating = True
        try:
            self.slider.setValue(self._position_of(value))
        finally:
            self._updating = False
        self._emit(round(value, self._decimals))


def slider_for(operation: str, field: str, default: float | None = None, **options) -> ParamSlider:
    """A ParamSlider for parameter ``field`` of develop operation ``operation``, built from the parameter's
    metadata (label, range, soft range, step, unit, log scale); ``default`` is where a reset goes (the
    parameter's default unless given). ``options`` go to ParamSlider (``reset_handler``, ``positions``)."""
    params_type = OPERATIONS_BY_NAME[operation].params_type
    spec = param_spec(params_type, field)
    minimum, maximum = spec.slider_range
    if spec.log_scale:
        options["to_fraction"], options["from_fraction"] = log_mapping(minimum, maximum)
    if default is None:
        default = float(getattr(params_type(), field))
    return ParamSlider(f"{operation}.{field}", spec.label, minimum, maximum, default, decimals=spec.decimals,
                       step=spec.step, suffix=f" {spec.unit}" if spec.unit else "", limits=spec.range, **options)


def log_mapping(minimum: float, maximum: float) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """(value -> fraction, fraction -> value) for a slider whose positions are spaced logarithmically."""
    ratio = math.log(maximum / minimum)
    return (lambda v: math.log(v / minimum) / ratio), (lambda f: minimum * math.exp(f * ratio))


class _WheelOnlyWithFocus(QObject):
    """Event filter: a wheel turned over a control without the focus is left to its parents (Qt passes an
    ignored wheel event up, to the scroll area around the panel)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Wheel and not watched.hasFocus():
            event.ignore()
            return True
        return False


def wheel_only_with_focus(root: QWidget) -> None:
    """Make every slider, spin box and combo box in ``root`` take the mouse wheel only once it has the focus
    (a click or Tab gives it); until then the wheel scrolls whatever holds ``root``."""
    guard = _WheelOnlyWithFocus(root)
    for control in root.findChildren(QWidget):
        if isinstance(control, (QAbstractSlider, QAbstractSpinBox, QComboBox)):
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # not WheelFocus: the wheel must not focus it
            control.installEventFilter(guard)

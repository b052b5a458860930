"""What the training scripts share around a run: logging and threads, the classifier scripts' fit() settings,
and fit()'s callbacks for a run that nobody watches (progress in the log now and then, a checkpoint after every
epoch)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import torch

from photolab.models.training.training import TrainConfig


def start_run(log_file: Path | None, threads: int) -> None:
    """Log INFO lines with times to stderr (and to ``log_file``); one OpenCV thread, ``threads`` torch threads."""
    handlers = [logging.StreamHandler()] + ([logging.FileHandler(log_file)] if log_file else [])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", handlers=handlers)
    cv2.setNumThreads(1)
    torch.set_num_threads(threads)


def timed_config(args, patience: int = 0) -> TrainConfig:
    """fit() settings from a classifier script's flags (epochs, batch size, lr, weight decay, label smoothing,
    time limit, seed, threads): one warm-up epoch, and the schedule follows the wall-time budget."""
    return TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, weight_decay=args.weight_decay,
                       warmup_epochs=1.0, label_smoothing=args.label_smoothing, patience=patience,
                       time_limit_s=args.time_limit_min * 60, schedule_by_time=True, seed=args.seed,
                       num_threads=args.threads)


class Unattended:
    """The job context :func:`photolab.models.training.training.fit` expects: logs progress at most once a minute and
    is never cancelled."""

    def __init__(self, log: logging.Logger):
        self.log, self.last = log, 0.0

    def progress(self, fraction: float, message: str) -> None:
        """Log ``message`` if a minute has passed since the last one."""
        if time.monotonic() - self.last > 60:
            self.last = time.monotonic()
            self.log.info("%5.1f%% %s", 100 * fraction, message)

    def check_cancelled(self) -> None:
        """Never cancelled."""


def epoch_logger(log: logging.Logger, model: torch.nn.Module, args, checkpoint: Path):
    """An ``on_epoch`` callback for fit(): log the epoch's metrics, save ``model`` and ``args`` to ``checkpoint``."""

    def on_epoch(m) -> None:
        log.info("epoch %d: train loss %.4f acc %.3f | val loss %.4f acc %.3f | lr %.2e | %.0f s", m.epoch,
                 m.train_loss, m.train_accuracy, m.val_loss, m.val_accuracy, m.lr, m.seconds)
        torch.save({"epoch": m.epoch, "model": model.state_dict(), "args": vars(args)}, checkpoint)

    return on_epoch

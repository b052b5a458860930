"""Fine-tuning as a Ray Train job: the same recipe as :func:`photolab.models.training.finetune.run_finetune`,
data-parallel over N workers (a :class:`ray.train.torch.TorchTrainer`: torch DDP over gloo on CPUs, NCCL on
GPUs).

The driver sets the run up (:func:`~photolab.models.training.finetune.plan_finetune`: the checked folder, the
base model with its fresh head, the seeded split, the config) and sends the plan to every worker, so the
workers need the photos (paths every worker can reach) but not the model store. Each worker trains on its
share of the training images (equal shares, the last ones topped up from the first) with a per-worker batch
of ``batch_size / N``, so a step still sees ``batch_size`` images and the learning-rate schedule is the
local one; DDP averages the gradients. Every worker evaluates the whole validation split, so all take the
same early-stopping decision. Rank 0 sends its progress and then the finished
:class:`~photolab.models.training.finetune.FinetuneOutcome` back through a Ray queue; the driver saves it with
:func:`~photolab.models.training.finetune.save_outcome`, as a local run does. A worker that dies restarts the
run (:data:`MAX_FAILURES` times); Ctrl+C stops it and saves nothing.
"""

from __future__ import annotations

import pickle
import queue
import threading
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch

from photolab.cluster.runtime import ClusterError, cluster_gpus, ray_runtime
from photolab.models.training.finetune import FinetuneOutcome, FinetunePlan, preload_images

MAX_FAILURES = 1
"""How many times a run whose worker died starts again from the beginning."""

DEFAULT_CPU_WORKERS = 2
"""Workers when ``--workers`` is not given and the cluster has no GPU (with GPUs: one worker per GPU)."""


def train_on_ray(plan: FinetunePlan, address: str, workers: int | None = None,
                 progress: Callable[[float, str], None] | None = None) -> tuple[FinetuneOutcome, str]:
    """Train ``plan`` on the Ray runtime at ``address`` with ``workers`` DDP workers (default: one per GPU of
    the cluster, else :data:`DEFAULT_CPU_WORKERS`); returns the outcome and how it was trained, as rank 0
    saw it (``"2 workers, DDP over gloo"``).
    ``progress(fraction, message)`` hears rank 0's progress. Raises :class:`ClusterError` when the run fails."""
    with ray_runtime(address, "train", "train.torch", "util.queue") as ray:
        from ray.train import FailureConfig, RunConfig, ScalingConfig
        from ray.train.torch import TorchConfig, TorchTrainer

        gpus = cluster_gpus(ray)
        workers = workers or gpus or DEFAULT_CPU_WORKERS
        use_gpu = gpus > 0
        messages = ray.util.queue.Queue()
        trainer = TorchTrainer(_train_worker, train_loop_config={"plan": plan, "messages": messages},
                               scaling_config=ScalingConfig(num_workers=workers, use_gpu=use_gpu),
                               torch_config=TorchConfig(backend="nccl" if use_gpu else "gloo"),
                               run_config=RunConfig(name=f"photolab-train-{Path(plan.report.root).name}",
                                                    failure_config=FailureConfig(max_failures=MAX_FAILURES)))
        return _fit_while_listening(trainer, messages, progress)


def _fit_while_listening(trainer, messages, progress) -> tuple[FinetuneOutcome, str]:
    """Run ``trainer.fit()`` on a thread while this one relays rank 0's messages (so Ctrl+C reaches it)."""
    finished: queue.Queue = queue.Queue()

    def fit() -> None:
        try:
            trainer.fit()
            finished.put(None)
        except Exception as exc:  # noqa: BLE001 - reported on the calling thread
            finished.put(exc)

    threading.Thread(target=fit, name="ray-train-fit", daemon=True).start()
    outcome = None
    while True:
        try:
            error = finished.get(timeout=0.2)
        except queue.Empty:
            error = ...
        while not messages.empty():  # drain what rank 0 sent, the last messages after fit() returned too
            kind, payload = messages.get()
            if kind == "progress" and progress is not None:
                progress(*payload)
            elif kind == "outcome":
                outcome = pickle.loads(payload[0]), payload[1]
        if error is ...:
            continue
        if error is not None:
            detail = " ".join(str(error).split())[:400]
            raise ClusterError(f"training on Ray failed: {detail}")
        if outcome is None:
            raise ClusterError("training on Ray ended without a result from its first worker")
        return outcome


class _QueueProgress:
    """A JobContext-like progress sink for :func:`~photolab.models.training.training.fit` on rank 0: sends each
    whole percent to the driver."""

    def __init__(self, messages, start: float = 0.0, span: float = 1.0) -> None:
        self.messages, self.start, self.span, self._last = messages, start, span, -1

    def progress(self, fraction: float, message: str = "") -> None:
        overall = self.start + self.span * fraction
        if int(overall * 100) != self._last:
            self._last = int(overall * 100)
            self.messages.put(("progress", (overall, message)))

    def subtask(self, start: float, end: float) -> "_QueueProgress":
        return _QueueProgress(self.messages, self.start + self.span * start, self.span * (end - start))


class _OnDevice(torch.utils.data.Dataset):
    """A training dataset whose items are moved to ``device`` (a GPU) as they are read."""

    def __init__(self, dataset, device: torch.device) -> None:
        self.dataset, self.device, self.items = dataset, device, dataset.items

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        image, label = self.dataset[index]
        return image.to(self.device), torch.tensor(label, device=self.device)

    def set_epoch(self, epoch: int) -> None:
        self.dataset.set_epoch(epoch)


def shard(items: list, rank: int, world: int) -> list:
    """Worker ``rank``'s equal share of ``items`` (every ``world``-th one; the list is topped up from its start
    so every worker runs the same number of batches, as DDP needs)."""
    total = -(-len(items) // world) * world
    return [items[i % len(items)] for i in range(total)][rank::world]


def _train_worker(config: dict) -> None:
    """On each Ray Train worker: train the plan on this worker's share, DDP-wrapped; rank 0 sends the
    outcome."""
    import ray.train
    import ray.train.torch
    from photolab.models.training.training import fit

    plan: FinetunePlan = config["plan"]
    messages = config["messages"]
    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    device = ray.train.torch.get_device()
    train = plan.images(shard(plan.train_items, rank, world), True)
    val = plan.images(plan.val_items, False)
    reporter = _QueueProgress(messages) if rank == 0 else None
    preload_images((train, val), reporter.subtask(0.0, 0.1) if reporter else None, Path(plan.report.root))
    if device.type != "cpu":
        train, val = _OnDevice(train, device), _OnDevice(val, device)
    model = plan.model
    plan.use_last_stage_as_head()
    head = model.get_classifier
    wrapped = ray.train.torch.prepare_model(model, parallel_strategy_kwargs={"find_unused_parameters": True})
    if wrapped is not model:
        wrapped.get_classifier = head  # fit trains "the classifier" alone while the backbone is frozen
    per_worker = replace(plan.config, batch_size=max(2, plan.config.batch_size // world))
    result = fit(wrapped, train, val, plan.classes, per_worker, reporter.subtask(0.1, 1.0) if reporter else None)
    plan.restore_head()
    if rank == 0:
        result = replace(result, model=model, config=plan.config)
        outcome = plan.outcome(result, len(plan.train_items), val)
        outcome.result.model = model.to("cpu").eval()
        how = f"{world} workers, DDP over {torch.distributed.get_backend()}" if wrapped is not model \
            else "1 worker"
        messages.put(("outcome", (pickle.dumps(outcome), how)))

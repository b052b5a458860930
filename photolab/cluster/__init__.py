"""PhotoLab on Ray: the batch commands spread over Ray workers (Ray Data) and fine-tuning as a Ray Train job.

Ray is an optional extra (``pip install 'photolab[cluster]'``); nothing here is imported unless a command is
given ``--ray``. :mod:`photolab.cluster.runtime` starts or joins the Ray runtime, :mod:`photolab.cluster.batch`
runs one per-file function over many inputs (the same function the single-process loop calls, so the outputs
are identical), :mod:`photolab.cluster.train` runs the fine-tuning recipe data-parallel (torch DDP).
"""

"""Model tests share the machine's few cores with other work: one intra-op thread, small inputs, no training."""

import torch

torch.set_num_threads(1)

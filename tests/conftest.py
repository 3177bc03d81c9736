import os

import torch

# Under pytest-xdist each worker gets one torch thread: two workers on two cores must not
# oversubscribe the machine.
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)

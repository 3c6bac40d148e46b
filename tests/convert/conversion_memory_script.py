"""Prints, as JSON, the peak of Python and NumPy allocations while
`load_weights` converts the checkpoint in argv[1] into a BERT backbone.

Run in a process of its own by `test_from_pretrained.py`: tracemalloc
counts every thread's allocations, so inside the test process the peak
also held whatever other tests' threads allocated meanwhile. Also lists
the allocation sites still held at the end, to explain a high peak.
"""

import json
import sys
import threading
import tracemalloc

from tfzoo.convert import load_weights, read_config
from tfzoo.convert.hf_config import backbone_kwargs
from tfzoo.models import BertBackbone


def main(directory):
    config = read_config(directory)
    backbone = BertBackbone(**backbone_kwargs(config))
    tracemalloc.start(8)
    load_weights(backbone, directory, config, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    held = tracemalloc.take_snapshot().statistics("traceback")[:5]
    tracemalloc.stop()
    print(json.dumps({
        "peak": peak,
        "threads": [thread.name for thread in threading.enumerate()],
        "held": [f"{stat.size} bytes at {stat.traceback.format()[-1].strip()}"
                 for stat in held],
    }))


if __name__ == "__main__":
    main(sys.argv[1])

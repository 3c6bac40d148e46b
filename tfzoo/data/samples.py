"""Paths of the small sample datasets bundled with tfzoo."""

import os

SAMPLES_DIR = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "samples"
)


def sample_names():
    """Sorted names of the bundled sample files (and directories, such as
    the BEIR-layout `faq_retrieval`).

    >>> "sentiment_train.jsonl" in sample_names()
    True
    """
    return sorted(
        name
        for name in os.listdir(SAMPLES_DIR)
        if not name.startswith(".")
        and (os.path.isfile(os.path.join(SAMPLES_DIR, name))
             or os.path.isdir(os.path.join(SAMPLES_DIR, name)))
        and name != "__pycache__"
    )


def sample_path(name):
    """Absolute path of the bundled sample file (or directory) `name`.

    See `tfzoo/data/samples/README.md` for what each file holds.

    >>> import os
    >>> path = sample_path("sentiment_train.jsonl")
    >>> os.path.isabs(path), os.path.basename(path)
    (True, 'sentiment_train.jsonl')
    """
    names = sample_names()
    if name not in names:
        raise FileNotFoundError(
            f"No bundled sample named {name!r}. Available samples: "
            f"{', '.join(names)}."
        )
    return os.path.join(SAMPLES_DIR, name)

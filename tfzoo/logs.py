"""Quiet logs for tfzoo and its commands: the recipes, `serving.server`
and `serving.client`.

TensorFlow's C++ code logs to stderr, filtered by the environment variable
`TF_CPP_MIN_LOG_LEVEL`: 0 shows everything, 1 hides INFO, 2 also WARNING,
3 also ERROR. Its libraries log a few lines while they load, before they
read the variable (oneDNN, the CUDA stub, absl's notice), and TensorFlow
loads two copies of them, so those lines come twice whatever it says.

`import tfzoo`, and commands before anything imports TensorFlow, call
`import_tensorflow()`:
it sets `TF_CPP_MIN_LOG_LEVEL=3` unless the environment sets it, and
imports TensorFlow leaving out the load-time lines below that level.
Errors still reach the user as Python exceptions. To see every line:

    TF_CPP_MIN_LOG_LEVEL=0 python recipes/gpt_pretrain.py
"""

import os
import re
import sys
import tempfile

DEFAULT_LEVEL = 3
_SEVERITIES = "IWEF"  # absl's INFO, WARNING, ERROR, FATAL: levels 0-3
_LOG_LINE = re.compile(r"([IWEF])\d{4} \d\d:\d\d:\d\d")
_ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog()"


def min_log_level(default=0):
    """`TF_CPP_MIN_LOG_LEVEL` as 0-3; `default` when unset or not a
    number."""
    try:
        return min(3, max(0, int(os.environ["TF_CPP_MIN_LOG_LEVEL"])))
    except (KeyError, ValueError):
        return default


def import_tensorflow():
    """Imports TensorFlow for a command, quietly by default; returns it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", str(DEFAULT_LEVEL))
    if "tensorflow" in sys.modules:
        return sys.modules["tensorflow"]
    level = min_log_level()
    sys.stderr.flush()
    try:
        saved_stderr = os.dup(2)
    except OSError:  # no stderr to filter
        level = 0
    if level == 0:
        import tensorflow
        return tensorflow
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow
        finally:
            sys.stderr.flush()
            os.dup2(saved_stderr, 2)
            os.close(saved_stderr)
            captured.seek(0)
            text = captured.read().decode("utf-8", "replace")
            sys.stderr.write(lines_at_level(text, level))
            sys.stderr.flush()
    return tensorflow


def lines_at_level(text, level):
    """`text` (stderr) without absl's log messages below `level`, nor its
    notice about them; other lines stay.

    >>> text = ("W0000 00:00:17.5 port.cc:153] oneDNN is on\\n"
    ...         "E0000 00:00:17.6 cuda.cc:52] failed call to cuInit\\n"
    ...         "details of the error\\n")
    >>> print(lines_at_level(text, 2), end="")
    E0000 00:00:17.6 cuda.cc:52] failed call to cuInit
    details of the error
    """
    kept = []
    keep = True
    for line in text.splitlines(keepends=True):
        start = _LOG_LINE.match(line)
        if start:
            keep = _SEVERITIES.index(start[1]) >= level
        elif line.startswith(_ABSL_NOTICE):
            keep = level == 0
        if keep:  # a line that starts no message continues the last one
            kept.append(line)
    return "".join(kept)

"""`tfzoo.logs`: TensorFlow imported without its load-time log lines,
unless TF_CPP_MIN_LOG_LEVEL asks for them."""

import os
import subprocess
import sys

from tfzoo.logs import lines_at_level

STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are ...
I0000 00:00:1796611251.270466    3987 port.cc:153] oneDNN custom ops are on.
I0000 00:00:1796611251.270777    3987 cudart_stub.cc:31] No cuda drivers.
To enable the following instructions: AVX2, rebuild TensorFlow.
E0000 00:00:1796611251.832196    3987 cuda_platform.cc:52] failed cuInit
a Python warning
"""


def test_lines_below_the_level_go_with_their_continuations():
    assert lines_at_level(STARTUP, 0) == STARTUP
    assert lines_at_level(STARTUP, 1) == "".join(
        STARTUP.splitlines(keepends=True)[4:])
    assert lines_at_level(STARTUP, 3) == ""
    assert lines_at_level("plain text\n", 3) == "plain text\n"


def import_tensorflow_in_a_process(**env):
    environment = {key: value for key, value in os.environ.items()
                   if key != "TF_CPP_MIN_LOG_LEVEL"}
    script = ("import sys; from tfzoo.logs import import_tensorflow; "
              "tf = import_tensorflow(); tf.constant(1); "
              "print('done', file=sys.stderr)")
    return subprocess.run([sys.executable, "-c", script],
                          capture_output=True, text=True, timeout=300,
                          env={**environment, **env}).stderr


def test_tensorflow_is_quiet_by_default_and_loud_on_request():
    assert import_tensorflow_in_a_process() == "done\n"
    loud = import_tensorflow_in_a_process(TF_CPP_MIN_LOG_LEVEL="0")
    assert "oneDNN custom operations" in loud
    assert loud.endswith("done\n")

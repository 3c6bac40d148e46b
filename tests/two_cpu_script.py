"""Runs a script in a fresh process that has two logical CPU devices.

Logical devices must be set up before TensorFlow initialises, hence a
process per script. The script gets `json`, `os`, `sys`, `np`, `tf`, `keras` and
`tasks` (tests.synthetic_tasks), and must print a JSON report last.
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PRELUDE = f"""
import json, os, sys
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
sys.path.insert(0, {ROOT!r})
from tests import synthetic_tasks as tasks
"""


def run_with_two_cpus(script, timeout, **environment):
    """(the printed JSON report, the process' stderr)."""
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + script], capture_output=True,
        text=True, timeout=timeout, env=dict(os.environ, **environment),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr

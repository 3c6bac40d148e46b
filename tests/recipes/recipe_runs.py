"""Running recipe scripts in tests: as commands, or their `main` in-process.

Shared by the recipe tests; the server used is the real local one.
"""

import importlib.util
import os
import re
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# The recipe tests train tiny models briefly, where compiling the XLA step
# (once per run, 15-45 s on 2 CPU cores) costs more than it saves; the
# defaults' XLA path is run by test_bert_ner's first run and by
# tests/training.
NO_XLA = ("--no_xla",)


def run_recipe(name, *args, timeout=600, check=True, cwd=ROOT):
    """Runs `python recipes/<name>.py args...` in `cwd`; returns the finished
    process with ANSI colours and progress-bar redraws removed from its
    stdout."""
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"),
         *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    result.stdout = "\n".join(
        line.rsplit("\r", 1)[-1] for line in ANSI.sub("", result.stdout)
        .splitlines()
    )
    if check:
        assert result.returncode == 0, (result.stdout[-3000:]
                                        + result.stderr[-3000:])
    return result


def run_until_checkpoint(name, model_dir, *args, timeout=400):
    """Starts `python recipes/<name>.py --model_dir model_dir args...` and
    kills it (SIGKILL, as a crash or a preempted machine would) once its
    first checkpoint is on disk; returns what it printed."""
    from tfzoo.training import latest_checkpoint_state

    process = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "recipes", f"{name}.py"),
         "--model_dir", str(model_dir), *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    checkpoints = os.path.join(str(model_dir), "checkpoints")
    deadline = time.monotonic() + timeout
    try:
        while latest_checkpoint_state(checkpoints) is None:
            assert process.poll() is None, process.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "no checkpoint in time"
            time.sleep(0.2)
    finally:
        process.kill()
    return process.communicate()[0]


def load_recipe(name):
    """The recipe script as a module, to call its `main(argv)`."""
    spec = importlib.util.spec_from_file_location(
        f"recipe_{name}", os.path.join(ROOT, "recipes", f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def printed_query_command(stdout, grpc_port):
    """The `python -m serving.client ...` command the recipe printed, as an
    argument list aimed at `grpc_port`."""
    lines = [line.strip() for line in stdout.splitlines()
             if line.strip().startswith("python -m serving.client")]
    assert len(lines) == 1, stdout[-2000:]
    words = shlex.split(lines[0])
    return [sys.executable, *words[1:], f"--port={grpc_port}"]


def query_the_printed_server(stdout, model_name, log_path):
    """Starts the real local server with the flags of the serve command the
    recipe printed (on free ports), runs the printed query command against
    it, and returns the query's stdout."""
    from serving.local_server import LocalServer

    serve = re.search(r"python -m serving.server (.+)", stdout)
    assert serve, stdout[-2000:]
    flags = [flag for flag in shlex.split(serve[1])
             if not flag.startswith(("--port", "--rest_api_port"))]
    with LocalServer(flags, model_name, str(log_path)) as server:
        query = subprocess.run(
            printed_query_command(stdout, server.grpc_port),
            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert query.returncode == 0, query.stderr[-3000:]
    return query.stdout


def printed_value(stdout, name):
    """The number after `name` in an evaluation line like `  f1   0.91`."""
    match = re.search(rf"^\s+{re.escape(name)}\s+([0-9.]+)\s*$", stdout,
                      re.MULTILINE)
    assert match, f"{name} not printed:\n{stdout[-2000:]}"
    return float(match[1])

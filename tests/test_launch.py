"""`python -m tfzoo.launch`: TF_CONFIG, output, exit codes, stopping.

The workers here are small Python scripts without TensorFlow; the training
run with two workers is in tests/training/test_multi_worker.py.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from tfzoo import launch

ROOT = os.path.dirname(os.path.dirname(__file__))

HEADER = """
import json, os, signal, sys, time
INDEX = json.loads(os.environ["TF_CONFIG"])["task"]["index"]
print("PID", os.getpid(), flush=True)
"""


def _script(tmp_path, body, name="worker.py"):
    path = tmp_path / name
    path.write_text(HEADER + textwrap.dedent(body))
    return str(path)


def _worker_pids(output):
    return {
        int(index): int(pid)
        for index, pid in re.findall(r"\[worker (\d)\] PID (\d+)", output)
    }


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_each_worker_gets_its_tf_config_and_prefixed_output(tmp_path,
                                                             capsys):
    script = _script(tmp_path, """
        print("CONFIG", os.environ["TF_CONFIG"])
        print("ARGS", json.dumps(sys.argv[1:]))
        print("to stderr", file=sys.stderr)
        sys.stdout.write("no newline at the end")
    """)
    code = launch.main(["--num_workers", "3", script, "--epochs", "2", "x"])
    out, err = capsys.readouterr()
    assert code == 0, err
    configs = {}
    for index in range(3):
        prefix = f"[worker {index}] "
        lines = [line[len(prefix):] for line in out.splitlines()
                 if line.startswith(prefix)]
        config = json.loads(lines[1].removeprefix("CONFIG "))
        configs[index] = config
        assert config["task"] == {"type": "worker", "index": index}
        assert lines[2] == 'ARGS ["--epochs", "2", "x"]'
        assert lines[3] == "no newline at the end"
        assert f"{prefix}to stderr" in err.splitlines()
    workers = configs[0]["cluster"]["worker"]
    assert all(c["cluster"] == {"worker": workers} for c in configs.values())
    assert len(set(workers)) == 3
    assert all(re.fullmatch(r"127\.0\.0\.1:\d+", w) for w in workers)


def test_a_failing_worker_stops_the_others_and_sets_the_exit_code(
        tmp_path, capsys):
    script = _script(tmp_path, """
        if INDEX == 1:
            time.sleep(0.5)
            sys.exit(3)
        time.sleep(600)
    """)
    start = time.monotonic()
    code = launch.main(["--grace_period", "5", script])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 3
    assert "worker 1 exited with code 3; stopping the other workers." in err
    assert elapsed < 5, elapsed  # worker 0 went at SIGTERM
    assert _gone(_worker_pids(out)[0])


def test_a_worker_that_ignores_sigterm_is_killed(tmp_path, capsys):
    script = _script(tmp_path, """
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if INDEX == 0:
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(600)
    """)
    start = time.monotonic()
    code = launch.main(["--grace_period", "1", script])
    elapsed = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 128 + signal.SIGKILL  # worker 0's, as a shell reports it
    assert "worker 1 ignored SIGTERM for 1 s; killing it." in err
    assert elapsed < 10, elapsed
    assert _gone(_worker_pids(out)[1])


def test_ctrl_c_stops_every_worker(tmp_path):
    script = _script(tmp_path, "time.sleep(600)\n")
    launcher = subprocess.Popen(
        [sys.executable, "-m", "tfzoo.launch", script], cwd=ROOT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    lines = []
    reader = threading.Thread(
        target=lambda: lines.extend(iter(launcher.stdout.readline, "")),
        daemon=True,
    )
    reader.start()
    try:
        deadline = time.monotonic() + 60
        while len(_worker_pids("".join(lines))) < 2:
            assert time.monotonic() < deadline, lines
            time.sleep(0.1)
        launcher.send_signal(signal.SIGINT)
        launcher.wait(timeout=30)
        err = launcher.stderr.read()
    finally:
        launcher.kill()
        launcher.wait()
    assert launcher.returncode == 128 + signal.SIGINT, err
    assert "got SIGINT; stopping the workers." in err
    pids = _worker_pids("".join(lines)).values()
    assert len(pids) == 2 and all(_gone(pid) for pid in pids)


def test_a_missing_script_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as raised:
        launch.main([str(tmp_path / "trian.py")])
    assert raised.value.code == 2
    assert "trian.py' not found; give the path of a Python file" in (
        capsys.readouterr().err
    )
    with pytest.raises(SystemExit):
        launch.main(["-m", "tfzoo.no_such_module"])
    assert "no module named 'tfzoo.no_such_module'" in capsys.readouterr().err


def test_a_busy_port_base_is_a_clear_error(tmp_path):
    script = _script(tmp_path, "")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SystemExit, match=f"port {port} on 127.0.0.1 is "
                           f"not free"):
            launch.main(["--port_base", str(port), script])


def test_help_explains_usage(capsys):
    with pytest.raises(SystemExit) as raised:
        launch.main(["--help"])
    assert raised.value.code == 0
    text = capsys.readouterr().out
    for expected in ("--num_workers", "--port_base", "TF_CONFIG",
                     "Several machines", "TPU VM", "[worker i]"):
        assert expected in text

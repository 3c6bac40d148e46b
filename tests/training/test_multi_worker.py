"""XLA training under MultiWorkerMirroredStrategy: 2 workers on 127.0.0.1.

`python -m tfzoo.launch` starts `multi_worker_script.py` as two worker
processes; each trains on its half of every global batch, with each
replica's forward and backward pass XLA-compiled. The same script on one
device (Keras compiles the whole step there) is the reference. A tiny T5
trains the same way after the BERT models.
"""

import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
SCRIPT = os.path.join(ROOT, "tests", "training", "multi_worker_script.py")
EXAMPLES, GLOBAL_BATCH, EPOCHS = 128, 32, 3
STEPS = EXAMPLES // GLOBAL_BATCH
T5_STEPS = 64 // 16  # 64 pairs, global batches of 16


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.update(extra)
    env.pop("TF_CONFIG", None)
    return env


def _launch(*args, timeout, **env):
    return subprocess.run(
        [sys.executable, "-m", "tfzoo.launch", "--num_workers", "2",
         "--grace_period", "5", SCRIPT, *args],
        cwd=ROOT, env=_env(**env), capture_output=True, text=True,
        timeout=timeout,
    )


def _results(stdout):
    results = {}
    for line in stdout.splitlines():
        match = re.fullmatch(r"\[worker (\d)\] RESULT (.*)", line)
        if match:
            results[int(match[1])] = json.loads(match[2])
    return results


def test_two_workers_train_like_one_device_with_xla():
    reference = subprocess.Popen(
        [sys.executable, SCRIPT, "--strategy", "default", "--inputs",
         "numpy", "--t5"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # xla_ops logs each launch of an XLA program, device_compiler each
        # compilation.
        launched = _launch(
            "--t5", timeout=300, TF_CPP_MIN_LOG_LEVEL="0",
            TF_CPP_VMODULE="xla_ops=1,device_compiler=1",
        )
        single_out, single_err = reference.communicate(timeout=300)
    finally:
        reference.kill()
        reference.wait()
    assert launched.returncode == 0, launched.stderr[-4000:]
    assert reference.returncode == 0, single_err[-4000:]
    last = single_out.splitlines()[-1]
    assert last.startswith("RESULT "), single_out[-2000:]
    single_report = json.loads(last.removeprefix("RESULT "))
    single = single_report["numpy"]
    workers = _results(launched.stdout)
    assert sorted(workers) == [0, 1], launched.stdout[-2000:]

    half = GLOBAL_BATCH // 2
    for index, report in workers.items():
        assert report["replicas"] == 2
        for inputs in ("numpy", "dataset"):
            run = report[inputs]
            # Every step ran the XLA-compiled per-replica gradient pass
            # (traced once); Keras did not compile the whole step.
            assert run["xla_per_replica"] and run["gradients_jit"], run
            assert run["keras_jit"] is False
            assert run["gradients_traces"] == 1
            # Each worker saw its own half of every global batch: worker 0
            # rows 0-15 of batch 0, worker 1 rows 16-31, and so on.
            # Duplicated data (both workers on the same rows, or each on a
            # whole global batch) would fail here, though not necessarily
            # the loss comparison below.
            batches = [
                list(range(step * GLOBAL_BATCH + index * half,
                           step * GLOBAL_BATCH + (index + 1) * half))
                for step in range(STEPS)
            ]
            assert run["seen"] == batches * EPOCHS, (inputs, run["seen"])
            # The same losses and the same model as training on one device.
            for one, two in zip(single["losses"], run["losses"],
                                strict=True):
                assert abs(one - two) < 1e-5, (single["losses"],
                                               run["losses"])
            for one, two in zip(sum(single["logits"], []),
                                sum(run["logits"], []), strict=True):
                assert abs(one - two) < 1e-5, (single["logits"],
                                               run["logits"])
    # The loss moved: the comparison above is between trained models.
    assert single["losses"][-1] < single["losses"][0] - 0.05, single

    # T5 (encoder-decoder, relative position bias, cross-attention): the
    # two workers' XLA per-replica steps give one device's losses.
    single_t5 = single_report["t5"]
    assert single_t5["losses"][-1] < single_t5["losses"][0] * 0.9
    for report in workers.values():
        assert report["t5"]["xla_per_replica"], report["t5"]
        for one, two in zip(single_t5["losses"], report["t5"]["losses"],
                            strict=True):
            assert abs(one - two) < 1e-4, (single_t5, report["t5"])

    for index in (0, 1):
        lines = [line for line in launched.stderr.splitlines()
                 if line.startswith(f"[worker {index}] ")]
        launches = [line for line in lines if "XlaLocalLaunchOpBase" in line]
        compiles = [line for line in lines
                    if "Compilation of XLA executable" in line]
        # Two BERT models (numpy, dataset) x STEPS x EPOCHS steps and the
        # T5 model's T5_STEPS x EPOCHS, all of them the gradient pass; one
        # XLA compilation per model.
        assert len(launches) == (2 * STEPS + T5_STEPS) * EPOCHS, (
            launches[:3])
        assert all("__inference__gradients_" in line for line in launches)
        assert len(compiles) == 3, compiles


def test_a_failing_worker_stops_the_others():
    start = time.monotonic()
    launched = _launch("--fail_worker", "1", timeout=120)
    elapsed = time.monotonic() - start
    assert launched.returncode == 1, launched.stderr[-3000:]
    assert "[worker 1] RuntimeError: worker 1 fails on purpose" in (
        launched.stderr
    )
    assert "RESULT" not in launched.stdout
    assert "worker 1 exited with code 1; stopping the other workers." in (
        launched.stderr
    )
    # Worker 0 was waiting for worker 1 in a collective op; it is gone.
    pid = int(re.search(r"\[worker 0\] PID (\d+)", launched.stdout)[1])
    try:
        os.kill(pid, 0)
        raise AssertionError(f"worker 0 (pid {pid}) is still running")
    except ProcessLookupError:
        pass
    assert elapsed < 90, elapsed

"""Runs a training script as several workers on this machine.

    python -m tfzoo.launch --num_workers 2 train.py --epochs 3

starts `python train.py --epochs 3` twice, each with a `TF_CONFIG` that
names both workers (127.0.0.1 at free ports) and its own index. A script
that builds its strategy with `resolve_strategy("multi_worker")` (or
`"auto"`) first thing, before any other TensorFlow op, then trains with
`MultiWorkerMirroredStrategy`. Output lines are prefixed with `[worker i] `.
When a worker fails, the launcher stops the others and exits with the
failed worker's code; Ctrl-C stops every worker. Stopping is SIGTERM, then
SIGKILL after `--grace_period` seconds (TensorFlow's multi-worker runtime
catches SIGTERM, so a worker stuck waiting for a dead peer needs the
SIGKILL).

Several machines: run the same script on each machine, with TF_CONFIG set
by hand; every machine lists the same workers, and its own index:

    # on host-a (on host-b the same, with "index": 1)
    export TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
                       "task": {"type": "worker", "index": 0}}'
    python train.py --epochs 3

A TPU VM needs no launcher: one process drives all its TPU cores, with
`resolve_strategy("tpu", tpu="local")` (e.g. behind a `--tpu local` flag of
the script). On a multi-host TPU slice, run that command on every host.
"""

import argparse
import ctypes
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

PREFIX = "[launch] "


def free_ports(count, host="127.0.0.1"):
    """`count` distinct ports that are free on `host` right now."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _check_ports_free(ports, host):
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError as error:
                raise SystemExit(
                    f"{PREFIX}port {port} on {host} is not free ({error}); "
                    f"choose another --port_base or leave it out to use "
                    f"free ports."
                ) from None


def tf_config(addresses, index):
    """The TF_CONFIG JSON for worker `index` of the `addresses` cluster."""
    return json.dumps({
        "cluster": {"worker": list(addresses)},
        "task": {"type": "worker", "index": index},
    })


def _die_with_parent():
    """In the child: get SIGKILL if the launcher dies (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Worker:
    def __init__(self, index, command, env, out_lock):
        self.index = index
        self.process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Its own process group: signals reach the worker's children
            # too, and Ctrl-C goes to the launcher, which stops everyone.
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        self.readers = [
            threading.Thread(
                target=self._stream, args=(pipe, stream, out_lock),
                daemon=True,
            )
            for pipe, stream in (
                (self.process.stdout, sys.stdout),
                (self.process.stderr, sys.stderr),
            )
        ]
        for reader in self.readers:
            reader.start()

    def _stream(self, pipe, stream, lock):
        prefix = f"[worker {self.index}] "
        for line in iter(pipe.readline, b""):
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            with lock:
                stream.write(prefix + text + "\n")
                stream.flush()
        pipe.close()

    def signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass


def _exit_code(returncode):
    """A worker's exit code; killed by signal N gives 128 + N, as shells do."""
    return 128 - returncode if returncode < 0 else returncode


def stop(workers, grace_period):
    """SIGTERM to the running workers; SIGKILL to any still up after
    `grace_period` seconds."""
    running = [w for w in workers if w.process.poll() is None]
    for worker in running:
        worker.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_period
    for worker in running:
        try:
            worker.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(
                f"{PREFIX}worker {worker.index} ignored SIGTERM for "
                f"{grace_period:g} s; killing it.",
                file=sys.stderr, flush=True,
            )
            worker.signal(signal.SIGKILL)
            worker.process.wait()
    for worker in workers:
        # Anything left in the process group (the worker's own children).
        worker.signal(signal.SIGKILL)


class _Interrupted(Exception):
    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise _Interrupted(signum)


def run(command, num_workers, host="127.0.0.1", port_base=None,
        grace_period=10.0):
    """Runs `command` as `num_workers` workers; returns the exit code."""
    if port_base is None:
        ports = free_ports(num_workers, host)
    else:
        ports = [port_base + index for index in range(num_workers)]
        _check_ports_free(ports, host)
    addresses = [f"{host}:{port}" for port in ports]
    print(f"{PREFIX}{num_workers} workers at {', '.join(addresses)}",
          file=sys.stderr, flush=True)

    previous = {
        signum: signal.signal(signum, _raise_interrupted)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    lock = threading.Lock()
    workers = []
    try:
        for index in range(num_workers):
            env = dict(
                os.environ,
                TF_CONFIG=tf_config(addresses, index),
                PYTHONUNBUFFERED="1",
            )
            workers.append(_Worker(index, command, env, lock))
        while True:
            codes = [worker.process.poll() for worker in workers]
            failed = [
                (index, code) for index, code in enumerate(codes)
                if code not in (None, 0)
            ]
            if failed:
                index, code = failed[0]
                others = [w for w in workers if w.process.poll() is None]
                print(
                    f"{PREFIX}worker {index} exited with code "
                    f"{_exit_code(code)}"
                    + ("; stopping the other workers." if others else "."),
                    file=sys.stderr, flush=True,
                )
                stop(workers, grace_period)
                return _exit_code(code)
            if all(code == 0 for code in codes):
                return 0
            time.sleep(0.1)
    except _Interrupted as interrupt:
        name = signal.Signals(interrupt.signum).name
        print(f"{PREFIX}got {name}; stopping the workers.",
              file=sys.stderr, flush=True)
        stop(workers, grace_period)
        return 128 + interrupt.signum
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for worker in workers:
            for reader in worker.readers:
                reader.join(timeout=5)


def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m tfzoo.launch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--num_workers", type=int, default=2,
        help="how many worker processes to start (default 2)",
    )
    parser.add_argument(
        "--port_base", type=int, default=None,
        help="worker i listens at port_base + i (default: free ports)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1",
        help="the address the workers listen at (default 127.0.0.1)",
    )
    parser.add_argument(
        "--grace_period", type=float, default=10.0,
        help="seconds between SIGTERM and SIGKILL when stopping workers "
        "(default 10)",
    )
    parser.add_argument(
        "-m", "--module", action="store_true",
        help="SCRIPT is a module name, run as `python -m SCRIPT`",
    )
    parser.add_argument("script", metavar="SCRIPT",
                        help="the training script (a .py file)")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS",
                        help="arguments passed to every worker")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.num_workers < 1:
        parser.error(f"--num_workers must be at least 1, got "
                     f"{args.num_workers}.")
    if args.grace_period < 0:
        parser.error("--grace_period must not be negative.")
    if args.module:
        try:
            found = importlib.util.find_spec(args.script) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            parser.error(f"no module named {args.script!r} (SCRIPT with -m "
                         f"is a module name, e.g. recipes.quickstart).")
        command = [sys.executable, "-m", args.script]
    else:
        if not os.path.isfile(args.script):
            parser.error(
                f"script {args.script!r} not found"
                + (" (it is a directory)" if os.path.isdir(args.script)
                   else "")
                + f"; give the path of a Python file, relative to "
                f"{os.getcwd()} or absolute, or use -m for a module."
            )
        command = [sys.executable, args.script]
    return run(
        command + args.args, args.num_workers, host=args.host,
        port_base=args.port_base, grace_period=args.grace_period,
    )


if __name__ == "__main__":
    sys.exit(main())

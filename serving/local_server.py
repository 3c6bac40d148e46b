"""Starts `python -m serving.server` as a subprocess on free ports.

For scripts, benchmarks and tests that need a real server for a while:

    with LocalServer(["--model_name=reviews",
                      "--model_base_path=runs/quickstart/serving"],
                     wait_for_model="reviews", log_path="server.log") as server:
        client = GrpcPredictionClient("reviews", port=server.grpc_port)
"""

import os
import signal
import socket
import subprocess
import sys
import time

import grpc
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_service_pb2_grpc

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
START_TIMEOUT_SECONDS = 180


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalServer:
    """A server subprocess; `with LocalServer(flags, ...) as server: ...`.

    Entering waits (at most START_TIMEOUT_SECONDS) until `wait_for_model`
    reports an AVAILABLE version over gRPC; leaving sends SIGTERM and
    checks the server exits with status 0.
    """

    def __init__(self, flags, wait_for_model, log_path,
                 python=sys.executable):
        self.grpc_port = free_port()
        self.rest_port = free_port()
        self.wait_for_model = wait_for_model
        self.log_path = log_path
        self.command = [
            python, "-m", "serving.server",
            f"--port={self.grpc_port}", f"--rest_api_port={self.rest_port}",
            *flags,
        ]
        self.process = None

    @property
    def rest_url(self):
        return f"http://127.0.0.1:{self.rest_port}"

    def channel(self):
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")

    def log(self):
        with open(self.log_path, errors="replace") as file:
            return file.read()

    def __enter__(self):
        self._log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(
            self.command, cwd=REPOSITORY, stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"Server exited with {self.process.returncode}:\n"
                    f"{self.log()[-4000:]}"
                )
            if self._model_available():
                return self
            time.sleep(0.2)
        self.process.kill()
        raise TimeoutError(
            f"Server did not serve {self.wait_for_model!r} within "
            f"{START_TIMEOUT_SECONDS} s:\n{self.log()[-4000:]}"
        )

    def _model_available(self):
        request = get_model_status_pb2.GetModelStatusRequest()
        request.model_spec.name = self.wait_for_model
        try:
            with self.channel() as channel:
                stub = model_service_pb2_grpc.ModelServiceStub(channel)
                response = stub.GetModelStatus(request, timeout=2)
        except grpc.RpcError:
            return False
        available = get_model_status_pb2.ModelVersionStatus.AVAILABLE
        return any(
            status.state == available
            for status in response.model_version_status
        )

    def stop(self):
        """SIGTERM, then the exit code (killing it after 60 s)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise RuntimeError(
                    f"Server ignored SIGTERM for 60 s:\n{self.log()[-4000:]}"
                ) from None
        self._log_file.close()
        return self.process.returncode

    def __exit__(self, *exc_info):
        code = self.stop()
        if exc_info[0] is None and code != 0:
            raise RuntimeError(
                f"The server exited with {code}:\n{self.log()[-4000:]}"
            )


def wait_until(condition, timeout, message):
    """Polls `condition()` every 0.2 s; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{message} (waited {timeout} s)")

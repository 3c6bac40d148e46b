"""The server under change: version swaps and failed loads under load,
SIGTERM, busy ports (issue 18, items 3, 4 and 7)."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import grpc
import requests
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_management_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc

from serving.local_server import REPOSITORY
from serving.local_server import LocalServer
from serving.local_server import free_port
from serving.local_server import wait_until
from tests.serving.bad_requests import post
from tests.serving.bad_requests import read_responses
from tests.serving.conftest import BATCHING_CONFIG

State = get_model_status_pb2.ModelVersionStatus.State
BODY = b'{"instances": ["a quiet clean room"]}'
# How long a load client may take from starting a request to its reaching
# the server, on a loaded two-core machine.
CLIENT_SEND_ALLOWANCE = 2.0
# How a server that stopped taking calls turns one away: gRPC status codes,
# or a REST connection it closes.
REFUSALS = ("CANCELLED", "UNAVAILABLE", "connection:")


def _predict_request(name="reviews"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(["a quiet room"]))
    return request


class Load:
    """Clients sending predict requests without pause, over gRPC and REST,
    recording (start time, outcome, version) until stopped."""

    def __init__(self, server, clients):
        self.server = server
        self.stopped = threading.Event()
        self.results = []
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._grpc if index % 2 else self._rest,
                             daemon=True)
            for index in range(clients)
        ]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    def stop(self):
        self.stopped.set()
        for thread in self.threads:
            thread.join(timeout=120)
            assert not thread.is_alive(), "a load client hung"

    def _record(self, started, outcome, version):
        with self.lock:
            self.results.append((started, outcome, version))

    def _grpc(self):
        with self.server.channel() as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            while not self.stopped.is_set():
                started = time.monotonic()
                try:
                    response = stub.Predict(_predict_request(), timeout=60)
                    self._record(started, "OK",
                                 response.model_spec.version.value)
                except grpc.RpcError as error:
                    self._record(started, error.code().name, None)
                    if error.code() == grpc.StatusCode.UNAVAILABLE:
                        return

    def _rest(self):
        url = f"{self.server.rest_url}/v1/models/reviews:predict"
        with requests.Session() as session:
            while not self.stopped.is_set():
                started = time.monotonic()
                try:
                    reply = session.post(url, data=BODY, timeout=60)
                    outcome = reply.status_code
                    if outcome != 200:
                        outcome = f"{outcome} {reply.text[:200]}"
                    self._record(started, outcome, None)
                except requests.ConnectionError as error:
                    self._record(started, f"connection: {error}", None)
                    return

    def failures(self, before=None):
        return [result for result in self.results
                if result[1] not in ("OK", 200)
                and (before is None or result[0] < before)]


def _statuses(stub, name="reviews"):
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = name
    try:
        response = stub.GetModelStatus(request, timeout=30)
    except grpc.RpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            return {}
        raise
    return {status.version: status.state
            for status in response.model_version_status}


def _config(models):
    entries = "".join(f"""
          config {{
            name: "{name}"
            base_path: "{path}"
            model_platform: "tensorflow"
          }}""" for name, path in models)
    return f"model_config_list {{{entries}\n}}\n"


def test_version_swaps_under_load_fail_no_request(classifier_base_path,
                                                  tmp_path):
    """Eight clients without pause while a version appears, the newest is
    removed, a config reload adds and drops a model, and two versions fail
    to load: no request fails, and each new version serves before the old
    one is unloaded."""
    base_path = tmp_path / "reviews"
    shutil.copytree(os.path.join(classifier_base_path, "1"), base_path / "1")
    other_path = tmp_path / "other"
    shutil.copytree(os.path.join(classifier_base_path, "1"), other_path / "1")
    config_path = tmp_path / "models.config"
    config_path.write_text(_config([("reviews", base_path)]))
    flags = [f"--model_config_file={config_path}",
             "--file_system_poll_wait_seconds=1", "--enable_batching",
             f"--batching_parameters_file={BATCHING_CONFIG}"]
    log_path = tmp_path / "log"
    with LocalServer(flags, "reviews", str(log_path)) as server, (
        server.channel()
    ) as channel:
        models = model_service_pb2_grpc.ModelServiceStub(channel)
        snapshots = []
        polling = threading.Event()

        def poll():
            while not polling.is_set():
                snapshots.append(_statuses(models))
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        with Load(server, clients=8) as load:
            wait_until(lambda: len(load.results) > 20, 120,
                       "the load never got answers")
            # A new version appears (written aside, renamed in).
            shutil.copytree(base_path / "1", tmp_path / "staging")
            os.rename(tmp_path / "staging", base_path / "2")
            wait_until(lambda: _statuses(models) == {1: State.END,
                                                     2: State.AVAILABLE},
                       180, "version 2 never replaced version 1")
            answered = len(load.results)
            wait_until(lambda: len(load.results) > answered + 20, 120,
                       "no answers after the swap")
            # The newest version is removed: version 1 comes back first.
            shutil.rmtree(base_path / "2")
            wait_until(lambda: _statuses(models) == {1: State.AVAILABLE,
                                                     2: State.END},
                       180, "version 1 never came back")
            # A config reload adds a model, another drops it.
            for entries in ([("reviews", base_path), ("other", other_path)],
                            [("reviews", base_path)]):
                config = text_format.Parse(
                    _config(entries),
                    model_management_pb2.ReloadConfigRequest().config)
                response = models.HandleReloadConfigRequest(
                    model_management_pb2.ReloadConfigRequest(config=config),
                    timeout=300)
                assert response.status.error_code == 0, response.status
                if len(entries) == 2:
                    assert _statuses(models, "other") == {1: State.AVAILABLE}
                    outputs = prediction_service_pb2_grpc.PredictionServiceStub(
                        channel).Predict(_predict_request("other"),
                                         timeout=60).outputs
                    assert len(outputs["label_ids"].int_val) == 1
            assert _statuses(models, "other") == {}
            # Versions that fail to load leave version 1 serving, and the
            # status reports their error with its code (item 4).
            for version, damage, code, words in (
                (3, _corrupt_variables, "DATA_LOSS", "Checksum"),
                (4, _unregistered_op, "NOT_FOUND", "Op type not registered"),
            ):
                staging = tmp_path / f"staging{version}"
                shutil.copytree(base_path / "1", staging)
                damage(staging)
                os.rename(staging, base_path / str(version))
                wait_until(lambda: _statuses(models).get(version) == State.END,
                           180, f"version {version} never failed to load")
                reply = requests.get(f"{server.rest_url}/v1/models/reviews",
                                     timeout=60)
                entries = {entry["version"]: entry
                           for entry in reply.json()["model_version_status"]}
                assert entries[str(version)]["state"] == "END"
                assert entries[str(version)]["status"]["error_code"] == code
                assert words in entries[str(version)]["status"][
                    "error_message"]
                assert entries["1"]["state"] == "AVAILABLE"
            answered = len(load.results)
            wait_until(lambda: len(load.results) > answered + 20, 120,
                       "no answers after the reload")
        polling.set()
        poller.join(timeout=60)

    assert load.failures() == [], load.failures()[:5]
    versions = {result[2] for result in load.results if result[2]}
    assert versions == {1, 2}
    assert len(load.results) > 100
    # Never a moment without an AVAILABLE version of the model.
    assert snapshots and all(State.AVAILABLE in snapshot.values()
                             for snapshot in snapshots), snapshots
    # Availability-preserving order: a version serves before the one it
    # replaces is unloaded.
    log = log_path.read_text()
    assert log.index("Successfully loaded servable version {name: reviews "
                     "version: 2}") < log.index(
        "Unloaded servable version {name: reviews version: 1}")
    loads_of_1 = [match.start() for match in re.finditer(
        r"Successfully loaded servable version \{name: reviews version: 1\}",
        log)]
    assert len(loads_of_1) == 2
    assert loads_of_1[1] < log.index(
        "Unloaded servable version {name: reviews version: 2}")


def _corrupt_variables(path):
    """Overwrites bytes in the middle of the variables data file."""
    data = next((path / "variables").glob("variables.data-*"))
    with open(data, "r+b") as file:
        file.seek(data.stat().st_size // 2)
        file.write(b"\xff" * 64)


def _unregistered_op(path):
    """Renames one op of the SavedModel's functions to an op no binary has."""
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((path / "saved_model.pb").read_bytes())
    nodes = (node for function in
             saved_model.meta_graphs[0].graph_def.library.function
             for node in function.node_def if node.op == "Identity")
    next(nodes).op = "NoSuchOpForIssue18"
    (path / "saved_model.pb").write_bytes(saved_model.SerializeToString())


def _start_second_server(grpc_port, rest_port, base_path, log_path):
    command = [sys.executable, "-m", "serving.server", f"--port={grpc_port}",
               f"--rest_api_port={rest_port}", "--model_name=reviews",
               f"--model_base_path={base_path}"]
    log_file = open(log_path, "w")
    process = subprocess.Popen(
        command, cwd=REPOSITORY, stdout=log_file, stderr=subprocess.STDOUT,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    return process, log_file


def test_busy_ports_and_sigterm_drain(classifier_base_path, tmp_path):
    flags = ["--model_name=reviews", f"--model_base_path={classifier_base_path}"]
    with LocalServer(flags, "reviews", str(tmp_path / "log")) as server:
        # A second server on the same gRPC port, and one on the same REST
        # port, fail to start and say which port.
        second = [
            _start_second_server(server.grpc_port, free_port(),
                                 classifier_base_path, tmp_path / "grpc.log"),
            _start_second_server(free_port(), server.rest_port,
                                 classifier_base_path, tmp_path / "rest.log"),
        ]
        for (process, log_file), port, kind in zip(
            second, (server.grpc_port, server.rest_port), ("gRPC", "REST")
        ):
            try:
                assert process.wait(timeout=300) == 1
            finally:
                if process.poll() is None:
                    process.kill()
                log_file.close()
            text = open(log_file.name).read()
            assert f"Could not bind the {kind} port 127.0.0.1:{port}" in (
                text), text[-2000:]
        assert server.process.poll() is None

        # SIGTERM under load: in-flight requests are answered, exit 0.
        partial = post("/v1/models/reviews:predict", BODY)
        with socket.create_connection(("127.0.0.1", server.rest_port),
                                      timeout=60) as sock, Load(
            server, clients=4
        ) as load:
            sock.sendall(partial[:-5])
            wait_until(lambda: len(load.results) > 20, 120,
                       "the load never got answers")
            sigterm_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "Shutting down" in server.log(), 60,
                       "the server never started shutting down")
            sock.sendall(partial[-5:])
            answers = read_responses(sock, 1, timeout=60)
            assert [answer[0] for answer in answers] == [200], answers
            assert server.process.wait(timeout=120) == 0, server.log()[-3000:]
            load.stop()
        # Every request sent well before the SIGTERM was answered. A request
        # a client began just before it may reach the server after the
        # server stopped taking calls (the client needs a moment to build and
        # send it); such a request may only be refused cleanly, never fail
        # half-way.
        early = [failure for failure in load.failures(before=sigterm_at)
                 if failure[0] < sigterm_at - CLIENT_SEND_ALLOWANCE]
        assert early == [], early[:5]
        late = load.failures(before=sigterm_at)
        assert all(str(failure[1]).startswith(REFUSALS) for failure in late), (
            late[:5])
        assert sum(1 for result in load.results
                   if result[0] < sigterm_at) > 20

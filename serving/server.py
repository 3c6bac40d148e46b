"""A local server that behaves like `tensorflow_model_server` 2.21.

Same flags, model directory layout, gRPC services, REST API and error
codes, so clients and deployment scripts move to the real binary (or the
`tensorflow/serving` image) unchanged:

    python -m serving.server --port=8500 --rest_api_port=8501 \\
        --model_name=reviews --model_base_path=/models/reviews

or, for several models, version policies and labels:

    python -m serving.server --port=8500 --rest_api_port=8501 \\
        --model_config_file=serving/config/models.config \\
        --model_config_file_poll_wait_seconds=60 \\
        --enable_batching --batching_parameters_file=serving/config/batching.config

Signatures that call a `tf.function(jit_compile=True)` run only with
`--xla_cpu_compilation_enabled=true`; without it they fail with INTERNAL
"XLA compilation disabled", as in TF Serving (see `serving.xla_signatures`).

One difference on purpose: it binds to `--bind_address` (127.0.0.1 by
default; TF Serving binds every interface). On SIGTERM it stops taking
requests, answers the ones in flight, and exits 0; a port in use fails the
start with exit status 1 and says which port.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from concurrent import futures

if __name__ == "__main__":
    # A command: TensorFlow first, its logs quiet by default (tfzoo.logs).
    from tfzoo.logs import import_tensorflow

    import_tensorflow()

import grpc  # noqa: E402
from google.protobuf import text_format  # noqa: E402
from tensorflow_serving.config import model_server_config_pb2  # noqa: E402

from serving.batching import BatchingParameters  # noqa: E402
from serving.errors import ServingError  # noqa: E402
from serving.grpc_services import add_services  # noqa: E402
from serving.model_manager import ModelManager  # noqa: E402
from serving.rest_api import RestApi  # noqa: E402
from serving.rest_api import make_http_server  # noqa: E402
from serving.servable import Servable  # noqa: E402

log = logging.getLogger("serving")
# On SIGTERM, in-flight requests get this long to be answered.
DRAIN_SECONDS = 30


def _boolean(text):
    lowered = str(text).lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def parse_flags(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m serving.server",
        description="A TensorFlow Serving compatible model server.",
    )
    add = parser.add_argument
    add("--port", type=int, default=8500, help="gRPC port.")
    add("--rest_api_port", type=int, default=0,
        help="REST port; 0 disables the REST API.")
    add("--rest_api_num_threads", type=int, default=32,
        help="Threads answering REST requests.")
    add("--rest_api_timeout_in_ms", type=int, default=30000,
        help="Timeout for REST requests.")
    add("--model_name", default="default",
        help="Name of the model (without --model_config_file).")
    add("--model_base_path", default="",
        help="Directory of numbered model versions.")
    add("--model_config_file", default="",
        help="Text-format ModelServerConfig; overrides --model_name and "
             "--model_base_path.")
    add("--model_config_file_poll_wait_seconds", type=int, default=0,
        help="Re-read --model_config_file this often; 0 reads it once.")
    add("--file_system_poll_wait_seconds", type=int, default=1,
        help="Look for new versions this often; 0 looks once.")
    add("--enable_batching", type=_boolean, nargs="?", const=True,
        default=False, help="Batch concurrent requests together.")
    add("--batching_parameters_file", default="",
        help="Text-format BatchingParameters.")
    add("--allow_version_labels_for_unavailable_models", type=_boolean,
        nargs="?", const=True, default=False,
        help="Allow labels that point at versions not yet loaded.")
    add("--enable_model_warmup", type=_boolean, nargs="?", const=True,
        default=True, help="Replay assets.extra/tf_serving_warmup_requests.")
    add("--tensorflow_intra_op_parallelism", type=int, default=0,
        help="Threads per op; 0 lets TensorFlow choose.")
    add("--tensorflow_inter_op_parallelism", type=int, default=0,
        help="Ops run in parallel; 0 lets TensorFlow choose.")
    add("--xla_cpu_compilation_enabled", type=_boolean, nargs="?",
        const=True, default=False,
        help="EXPERIMENTAL; CAN BE REMOVED ANYTIME! Enable XLA:CPU JIT "
             "(default is disabled). With XLA:CPU JIT disabled, models "
             "utilizing this feature will return bad Status on first "
             "compilation request.")
    add("--grpc_max_threads", type=int, default=64,
        help="Threads answering gRPC requests.")
    add("--bind_address", default="127.0.0.1",
        help="Local server only: the address to listen on (TF Serving "
             "listens on all interfaces; use 0.0.0.0 for that).")
    flags = parser.parse_args(argv)
    if flags.batching_parameters_file and not flags.enable_batching:
        parser.error("--batching_parameters_file needs --enable_batching")
    if not flags.model_config_file and not flags.model_base_path:
        parser.error(
            "Both server_model_config_file and model_base_path are empty! "
            "Pass --model_base_path (with --model_name) or "
            "--model_config_file."
        )
    return flags


def read_model_config(flags):
    """The `ModelServerConfig` the flags describe."""
    if flags.model_config_file:
        with open(flags.model_config_file) as file:
            return text_format.Parse(
                file.read(), model_server_config_pb2.ModelServerConfig()
            )
    config = model_server_config_pb2.ModelServerConfig()
    model = config.model_config_list.config.add()
    model.name = flags.model_name
    model.base_path = os.path.abspath(flags.model_base_path)
    model.model_platform = "tensorflow"
    return config


class ModelServer:
    """The running server: models, gRPC, REST and the polling thread."""

    def __init__(self, flags):
        self.flags = flags
        self.stopping = threading.Event()
        batching = None
        if flags.enable_batching:
            batching = BatchingParameters()
            if flags.batching_parameters_file:
                batching = BatchingParameters.from_file(
                    flags.batching_parameters_file
                )

        def load_servable(path):
            return Servable(
                path, batching_parameters=batching,
                xla_compilation_enabled=flags.xla_cpu_compilation_enabled,
            )

        self.manager = ModelManager(
            load_servable,
            allow_labels_for_unavailable=(
                flags.allow_version_labels_for_unavailable_models
            ),
            replay_warmup=flags.enable_model_warmup,
        )
        self.config_text = None
        self.grpc_server = None
        self.http_server = None

    def start(self):
        config = read_model_config(self.flags)
        # Fail before the models load, not after, if a port is taken.
        _check_port_free(self.flags.bind_address, self.flags.port, "gRPC")
        _check_port_free(self.flags.bind_address, self.flags.rest_api_port,
                         "REST")
        self.config_text = text_format.MessageToString(config)
        self.manager.apply_config(config)
        # TF Serving's server.cc: builder.SetMaxMessageSize(INT32_MAX); a
        # larger message is RESOURCE_EXHAUSTED.
        options = [
            ("grpc.max_receive_message_length", (1 << 31) - 1),
            ("grpc.max_send_message_length", (1 << 31) - 1),
            ("grpc.so_reuseport", 0),
        ]
        self.grpc_server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.flags.grpc_max_threads),
            options=options,
        )
        add_services(self.grpc_server, self.manager, self.manager.apply_config)
        address = f"{self.flags.bind_address}:{self.flags.port}"
        try:
            bound = self.grpc_server.add_insecure_port(address)
        except RuntimeError:  # newer grpcio raises instead of returning 0
            bound = 0
        if bound == 0:
            raise OSError(
                f"Could not bind the gRPC port {address}: it is in use (is "
                f"another server running?) or not available"
            )
        self.grpc_server.start()
        log.info("Running gRPC ModelServer at %s ...", address)
        if self.flags.rest_api_port:
            api = RestApi(self.manager,
                          self.flags.rest_api_timeout_in_ms / 1000)
            try:
                self.http_server = make_http_server(
                    api, self.flags.bind_address, self.flags.rest_api_port
                )
            except OSError as error:
                raise OSError(
                    f"Could not bind the REST port "
                    f"{self.flags.bind_address}:{self.flags.rest_api_port}: "
                    f"{error.strerror or error} (is another server running?)"
                ) from None
            threading.Thread(
                target=self.http_server.serve_forever, daemon=True
            ).start()
            log.info("Exporting HTTP/REST API at:%s:%d ...",
                     self.flags.bind_address, self.flags.rest_api_port)
        threading.Thread(target=self._poll_versions, daemon=True).start()
        if (self.flags.model_config_file
                and self.flags.model_config_file_poll_wait_seconds > 0):
            threading.Thread(target=self._poll_config, daemon=True).start()

    def _poll_versions(self):
        wait = self.flags.file_system_poll_wait_seconds
        while wait > 0 and not self.stopping.wait(wait):
            try:
                self.manager.poll()
            except Exception:  # noqa: BLE001  (keep serving what loaded)
                log.exception("Polling for model versions failed")

    def _poll_config(self):
        wait = self.flags.model_config_file_poll_wait_seconds
        while not self.stopping.wait(wait):
            try:
                config = read_model_config(self.flags)
                text = text_format.MessageToString(config)
                if text != self.config_text:
                    self.manager.apply_config(config)
                    self.config_text = text
                    log.info("Applied the changed model config file")
            except (OSError, text_format.ParseError, ServingError) as error:
                log.error("Model config file not applied: %s", error)

    def stop(self):
        """Stops taking requests, answers the ones in flight (waiting at
        most DRAIN_SECONDS), then unloads the models."""
        self.stopping.set()
        grpc_stopped = None
        if self.grpc_server is not None:
            grpc_stopped = self.grpc_server.stop(grace=DRAIN_SECONDS)
        if self.http_server is not None:
            self.http_server.drain(DRAIN_SECONDS)
        if grpc_stopped is not None:
            grpc_stopped.wait()
        self.manager.unload_all()


def main(argv=None):
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname).1s serving] %(message)s",
    )
    flags = parse_flags(argv)
    _set_tensorflow_threads(flags)
    server = ModelServer(flags)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        server.start()
    except (OSError, ServingError, text_format.ParseError, ValueError) as error:
        log.error("Failed to start the server: %s", error)
        server.stop()
        return 1
    while not stop.wait(1):
        pass
    log.info("Shutting down")
    server.stop()
    return 0


def _check_port_free(host, port, kind):
    """OSError naming the port if nothing may listen on host:port now."""
    if not port:
        return
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as error:
        raise OSError(
            f"Could not bind the {kind} port {host}:{port}: "
            f"{error.strerror or error} (is another server running?)"
        ) from None


def _set_tensorflow_threads(flags):
    import tensorflow as tf

    if flags.tensorflow_intra_op_parallelism:
        tf.config.threading.set_intra_op_parallelism_threads(
            flags.tensorflow_intra_op_parallelism
        )
    if flags.tensorflow_inter_op_parallelism:
        tf.config.threading.set_inter_op_parallelism_threads(
            flags.tensorflow_inter_op_parallelism
        )


if __name__ == "__main__":
    sys.exit(main())

"""TF Serving's gRPC services over a `ModelManager`.

`PredictionService` (Predict, Classify, Regress, GetModelMetadata) and
`ModelService` (GetModelStatus, HandleReloadConfigRequest), registered
with the stubs from `tensorflow_serving.apis`. Every error reaches the
client as a gRPC status; nothing a request holds can crash the server.
"""

import contextlib
import functools
import logging

import grpc
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import model_management_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.apis import regression_pb2

from serving.errors import ServingError
from serving.errors import invalid_argument
from serving.example_inputs import serialized_examples
from serving.model_manager import status_proto
from serving.servable import DEFAULT_SIGNATURE
from serving.tensor_protos import array_from_proto
from serving.tensor_protos import array_to_proto

log = logging.getLogger("serving")


def _grpc_errors(method):
    """Turns every exception into a gRPC status instead of a crash."""

    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as error:
            context.abort(error.code, error.message)
        except Exception as error:  # noqa: BLE001
            log.exception("Internal error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"{type(error).__name__}: "
                          f"{error}")

    return wrapper


def _require_model_spec(request):
    """Every service's first check in TF Serving (predict_impl.cc,
    classification_service.cc, regression_service.cc,
    get_model_metadata_impl.cc, get_model_status_impl.cc)."""
    if not request.HasField("model_spec"):
        raise invalid_argument("Missing ModelSpec")


def _response_spec(response_spec, request_spec, version, signature_name):
    response_spec.name = request_spec.name
    response_spec.version.value = version
    response_spec.signature_name = signature_name


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, manager):
        self.manager = manager

    @_grpc_errors
    def Predict(self, request, context):
        _require_model_spec(request)
        with self.manager.serving(request.model_spec) as (servable, version):
            return self._predict(request, servable, version)

    def _predict(self, request, servable, version):
        signature_name = request.model_spec.signature_name or DEFAULT_SIGNATURE
        servable.signature(signature_name)
        inputs = {
            name: array_from_proto(proto, name)
            for name, proto in request.inputs.items()
        }
        outputs = servable.predict(
            signature_name, inputs, list(request.output_filter)
        )
        response = predict_pb2.PredictResponse()
        _response_spec(response.model_spec, request.model_spec, version,
                       signature_name)
        for name, value in outputs.items():
            response.outputs[name].CopyFrom(array_to_proto(value))
        return response

    @contextlib.contextmanager
    def _examples_request(self, request, response):
        """(servable, signature name, serialized examples) of a Classify
        or Regress request; fills the response's model spec."""
        _require_model_spec(request)
        with self.manager.serving(request.model_spec) as (servable, version):
            signature_name = (request.model_spec.signature_name
                              or DEFAULT_SIGNATURE)
            _response_spec(response.model_spec, request.model_spec, version,
                           signature_name)
            yield servable, signature_name, serialized_examples(request.input)

    @_grpc_errors
    def Classify(self, request, context):
        response = classification_pb2.ClassificationResponse()
        with self._examples_request(request, response) as (
            servable, signature_name, examples
        ):
            classes, scores = servable.classify(signature_name, examples)
        for index in range(len(examples)):
            result = response.result.classifications.add()
            width = (classes if classes is not None else scores).shape[1]
            for position in range(width):
                entry = result.classes.add()
                if classes is not None:
                    entry.label = classes[index][position].decode(
                        "utf-8", "replace"
                    )
                if scores is not None:
                    entry.score = float(scores[index][position])
        return response

    @_grpc_errors
    def Regress(self, request, context):
        response = regression_pb2.RegressionResponse()
        with self._examples_request(request, response) as (
            servable, signature_name, examples
        ):
            values = servable.regress(signature_name, examples)
        for value in values:
            response.result.regressions.add(value=float(value))
        return response

    @_grpc_errors
    def GetModelMetadata(self, request, context):
        _require_model_spec(request)
        fields = list(request.metadata_field)
        if not fields:
            raise invalid_argument(
                "GetModelMetadataRequest must specify at least one "
                "metadata_field"
            )
        for field in fields:
            if field != "signature_def":
                raise invalid_argument(
                    f"Metadata field {field} is not supported"
                )
        servable, version = self.manager.resolve(request.model_spec)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        _response_spec(response.model_spec, request.model_spec, version, "")
        signature_map = get_model_metadata_pb2.SignatureDefMap()
        for name, signature in servable.signature_defs.items():
            signature_map.signature_def[name].CopyFrom(signature)
        response.metadata["signature_def"].Pack(signature_map)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, manager, reload_config):
        self.manager = manager
        self.reload_config = reload_config

    @_grpc_errors
    def GetModelStatus(self, request, context):
        _require_model_spec(request)
        spec = request.model_spec
        version = spec.version.value if spec.HasField("version") else None
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, status in self.manager.status(spec.name, version):
            response.model_version_status.append(status_proto(number, status))
        return response

    @_grpc_errors
    def HandleReloadConfigRequest(self, request, context):
        response = model_management_pb2.ReloadConfigResponse()
        try:
            self.reload_config(request.config)
        except ServingError as error:
            response.status.error_code = error.code.value[0]
            response.status.error_message = error.message
        return response


def add_services(server, manager, reload_config):
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(manager), server
    )
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelService(manager, reload_config), server
    )

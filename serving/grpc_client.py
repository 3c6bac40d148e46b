"""`GrpcPredictionClient`: a `PredictionClient` over TF Serving's gRPC API.

TF Serving's protos import TensorFlow, so this client does too.
"""

import grpc
import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import input_pb2
from tensorflow_serving.apis import model_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.apis import regression_pb2

from serving.client_values import dtype_name
from serving.client_values import float32_score
from serving.errors import ServingError
from serving.prediction_client import PredictionClient
from serving.prediction_client import code_name

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class GrpcPredictionClient(PredictionClient):
    """A `PredictionClient` for TF Serving's gRPC API.

    Args (besides `PredictionClient`'s):
        host, port: the server's gRPC address.
        max_message_bytes: largest request and reply (default 64 MiB;
            gRPC's own default is 4 MiB).
        credentials: `grpc.ChannelCredentials` for TLS; None for plain text.
        channel_options: more `(key, value)` gRPC channel options.
    """

    def __init__(self, model_name, host="localhost", port=8500, *,
                 max_message_bytes=DEFAULT_MAX_MESSAGE_BYTES,
                 credentials=None, channel_options=(), **kwargs):
        super().__init__(model_name, **kwargs)
        self.target = f"{host}:{port}"
        retry_ms = max(1, int(self.initial_backoff * 1000))
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
            # Reconnect as fast as we retry, not after gRPC's default 1 s+.
            ("grpc.initial_reconnect_backoff_ms", retry_ms),
            ("grpc.min_reconnect_backoff_ms", retry_ms),
            ("grpc.max_reconnect_backoff_ms",
             max(1, int(self.max_backoff * 1000))),
            *channel_options,
        ]
        if credentials is None:
            self._channel = grpc.insecure_channel(self.target, options)
        else:
            self._channel = grpc.secure_channel(self.target, credentials,
                                                options)
        self._prediction = prediction_service_pb2_grpc.PredictionServiceStub(
            self._channel
        )
        self._models = model_service_pb2_grpc.ModelServiceStub(self._channel)

    def close(self):
        self._channel.close()

    def _call(self, method, request, timeout):
        try:
            return method(request, timeout=timeout)
        except grpc.RpcError as error:
            raise ServingError(error.code(), error.details() or "") from None

    def _predict(self, arrays, signature_name, output_filter, timeout):
        request = predict_pb2.PredictRequest(
            model_spec=self._model_spec(signature_name),
            output_filter=output_filter,
        )
        for name, array in arrays.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(array))
        response = self._call(self._prediction.Predict, request, timeout)
        return {name: tf.make_ndarray(tensor)
                for name, tensor in response.outputs.items()}

    def _classify(self, examples, context, signature_name, timeout):
        request = classification_pb2.ClassificationRequest(
            model_spec=self._model_spec(signature_name),
            input=_input_proto(examples, context),
        )
        response = self._call(self._prediction.Classify, request, timeout)
        return [
            [(item.label, float32_score(item.score))
             for item in result.classes]
            for result in response.result.classifications
        ]

    def _regress(self, examples, context, signature_name, timeout):
        request = regression_pb2.RegressionRequest(
            model_spec=self._model_spec(signature_name),
            input=_input_proto(examples, context),
        )
        response = self._call(self._prediction.Regress, request, timeout)
        return np.array([item.value for item in response.result.regressions],
                        np.float32)

    def _metadata(self, timeout):
        request = get_model_metadata_pb2.GetModelMetadataRequest(
            model_spec=self._model_spec(), metadata_field=["signature_def"]
        )
        response = self._call(self._prediction.GetModelMetadata, request,
                              timeout)
        signature_defs = get_model_metadata_pb2.SignatureDefMap()
        if "signature_def" in response.metadata:
            response.metadata["signature_def"].Unpack(signature_defs)
        spec = response.model_spec
        return {
            "model_spec": {
                "name": spec.name,
                "version": spec.version.value if spec.HasField("version")
                else None,
            },
            "signature_def": {
                name: _describe_signature(signature_defs.signature_def[name])
                for name in sorted(signature_defs.signature_def)
            },
        }

    def _status(self, timeout):
        request = get_model_status_pb2.GetModelStatusRequest(
            model_spec=self._model_spec()
        )
        response = self._call(self._models.GetModelStatus, request, timeout)
        states = get_model_status_pb2.ModelVersionStatus.State
        return [
            {
                "version": int(status.version),
                "state": states.Name(status.state),
                "error_code": code_name(status.status.error_code),
                "error_message": status.status.error_message,
            }
            for status in response.model_version_status
        ]

    def _model_spec(self, signature_name=""):
        spec = model_pb2.ModelSpec(name=self.model_name,
                                   signature_name=signature_name)
        if self.version is not None:
            spec.version.value = self.version
        if self.version_label is not None:
            spec.version_label = self.version_label
        return spec


def _input_proto(examples, context):
    """The `Input` of a Classify or Regress request."""
    examples = [_example_proto(example) for example in examples]
    if context is None:
        return input_pb2.Input(
            example_list=input_pb2.ExampleList(examples=examples)
        )
    return input_pb2.Input(
        example_list_with_context=input_pb2.ExampleListWithContext(
            examples=examples, context=_example_proto(context)
        )
    )


def _example_proto(features):
    """A `tf.train.Example` from `make_example`'s {name: list of values}."""
    example = tf.train.Example()
    for name, values in features.items():
        feature = example.features.feature[name]
        if values and isinstance(values[0], bytes):
            feature.bytes_list.value.extend(values)
        elif values and isinstance(values[0], int):
            feature.int64_list.value.extend(values)
        elif values:
            feature.float_list.value.extend(values)
    return example


def _describe_signature(signature):
    return {
        "method_name": signature.method_name,
        "inputs": {name: _describe_tensor(signature.inputs[name])
                   for name in sorted(signature.inputs)},
        "outputs": {name: _describe_tensor(signature.outputs[name])
                    for name in sorted(signature.outputs)},
    }


def _describe_tensor(info):
    shape = None
    if info.HasField("tensor_shape") and not info.tensor_shape.unknown_rank:
        shape = [dim.size for dim in info.tensor_shape.dim]
    return {"dtype": dtype_name(types_pb2.DataType.Name(info.dtype)),
            "shape": shape}

"""`GrpcPredictionClient`: a `PredictionClient` over TF Serving's gRPC API."""

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import classification_pb2
from tensorflow_serving.apis import get_model_metadata_pb2
from tensorflow_serving.apis import get_model_status_pb2
from tensorflow_serving.apis import input_pb2
from tensorflow_serving.apis import model_service_pb2_grpc
from tensorflow_serving.apis import predict_pb2
from tensorflow_serving.apis import prediction_service_pb2_grpc
from tensorflow_serving.apis import regression_pb2

from serving.client_values import float32_score
from serving.errors import ServingError
from serving.prediction_client import PredictionClient

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
        return response.model_spec, dict(signature_defs.signature_def)

    def _status(self, timeout):
        request = get_model_status_pb2.GetModelStatusRequest(
            model_spec=self._model_spec()
        )
        return self._call(self._models.GetModelStatus, request, timeout)


def _input_proto(examples, context):
    """The `Input` of a Classify or Regress request."""
    if context is None:
        return input_pb2.Input(
            example_list=input_pb2.ExampleList(examples=examples)
        )
    return input_pb2.Input(
        example_list_with_context=input_pb2.ExampleListWithContext(
            examples=examples, context=context
        )
    )

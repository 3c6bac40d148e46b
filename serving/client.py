"""A client for models served by TensorFlow Serving, over gRPC or REST.

Works with `tensorflow_model_server` and with `python -m serving.server`.
`GrpcPredictionClient` talks to the gRPC port (8500 by default),
`RestPredictionClient` to the REST port (8501); both have the methods of
`PredictionClient`:

>>> client = GrpcPredictionClient("classifier", port=8500)  # doctest: +SKIP
>>> client.predict({"text": ["It broke after a day!"]})  # doctest: +SKIP
{'label_ids': array([0], dtype=int32),
 'label_names': array(['negative'], dtype=object),
 'logits': array([[ 1.2, -0.9]], dtype=float32),
 'probabilities': array([[0.89, 0.11]], dtype=float32)}
>>> client.classify([{"text": "The staff were lovely."}],
...                 signature_name="classify")  # doctest: +SKIP
[[('negative', 0.03), ('positive', 0.97)]]

Conventions:

- Inputs map names to a string, bytes, a (nested) list of them, a (nested)
  list of numbers, or a numpy array. Numpy arrays are sent with their
  dtype; Python ints become int32 and floats float32 (as in `tf.constant`),
  so pass a numpy array when the signature wants another dtype. `str` is
  sent as UTF-8.
- Outputs are a dict of name -> numpy array. String tensors are numpy
  object arrays of `str` (UTF-8 decoded); an element that is not valid
  UTF-8 stays `bytes`. Pass `decode_strings=False` to get `bytes` always.
- Over REST, inputs that are not valid UTF-8 travel as `{"b64": ...}`;
  replies get the dtypes the model's metadata declares (fetched once per
  client), so both protocols return the same arrays.
- Every failure the server or the network reports raises `ServingError`
  (`serving.errors`) with `.code`, a `grpc.StatusCode`, and `.message`.
  Over REST the code comes from the HTTP status as in `serving.errors`
  (TF Serving sends 400 for INVALID_ARGUMENT, FAILED_PRECONDITION and
  OUT_OF_RANGE alike, so 400 reads as INVALID_ARGUMENT unless the message
  starts with another code's name, as in "FAILED_PRECONDITION: ...");
  refused or dropped connections are UNAVAILABLE and a timeout is
  DEADLINE_EXCEEDED. Wrong arguments raise `ValueError`/`TypeError`
  before anything is sent.
- UNAVAILABLE is retried up to `max_attempts` times in all, sleeping
  `initial_backoff` seconds, then twice as long each time (at most
  `max_backoff`). Other errors are not retried. `timeout` is the deadline
  of each attempt.

The code: `serving.prediction_client` (what both clients share),
`serving.grpc_client`, `serving.rest_client`, `serving.client_values`
(inputs, JSON tensors, `tf.Example`s) and `serving.client_cli`. Only the
gRPC client imports TensorFlow (TF Serving's protos need it), and only
when first used: REST calls, in code or on the command line, start in
well under a second.

Command line (prints one line per output, or JSON with `--json`):

    python -m serving.client --model classifier --text "Great!" --text "Bad."
    python -m serving.client --model classifier --protocol rest --status
"""

from serving.errors import ServingError
from serving.prediction_client import DEFAULT_SIGNATURE
from serving.prediction_client import PredictionClient
from serving.rest_client import RestPredictionClient

__all__ = ["DEFAULT_SIGNATURE", "GrpcPredictionClient", "PredictionClient",
           "RestPredictionClient", "ServingError"]


def __getattr__(name):
    # The gRPC client loads on first use: TF Serving's protos import
    # TensorFlow, which REST calls do without.
    if name == "GrpcPredictionClient":
        from serving.grpc_client import GrpcPredictionClient

        return GrpcPredictionClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    import sys

    from serving.client_cli import main

    sys.exit(main())

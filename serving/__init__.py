"""TF Serving's client side and a local TF-Serving-compatible server.

`serving.client` holds the gRPC and REST clients (`GrpcPredictionClient`,
`RestPredictionClient`) and the `python -m serving.client` command;
`python -m serving.server` starts a server that follows
`tensorflow_model_server` 2.21's flags, APIs and status codes, so the real
binary can take its place unchanged.
"""

"""One option for numeric precision: float32 or mixed precision.

`set_precision("mixed_bfloat16")` makes layers built afterwards compute in
bfloat16 with float32 weights; `"mixed_float16"` computes in float16, and
`Task.compile` then wraps the optimizer in a `LossScaleOptimizer`
(dynamic loss scaling; non-finite steps are skipped and the scale
shrinks). Set it before building the model.

>>> set_precision("mixed_bfloat16")
'mixed_bfloat16'
>>> set_precision("float32")
'float32'
"""

import keras

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def set_precision(name):
    """Sets Keras' global dtype policy to `name`, one of PRECISIONS."""
    if name not in PRECISIONS:
        raise ValueError(
            f"Unknown precision {name!r}; use one of {', '.join(PRECISIONS)}."
        )
    keras.config.set_dtype_policy(name)
    return name

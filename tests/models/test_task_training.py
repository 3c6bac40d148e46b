"""The XLA training step, counted by XLA itself, and its options.

Runs in a fresh process with two logical CPU devices and TensorFlow's
compilation log on, so that each XLA compilation leaves a line naming the
compiled function.
"""

import re

from tests.two_cpu_script import run_with_two_cpus

SCRIPT = r"""
from tfzoo.models import BertBackbone, BertClassifier
from tfzoo.training import AdamW, set_precision

def case(name):
    os.write(2, f"\nCASE {name}\n".encode())

def build(strategy, **compile_args):
    keras.utils.set_random_seed(3)
    with strategy.scope():
        model = BertClassifier(
            BertBackbone(**dict(tasks.TINY_BERT, max_sequence_length=64)),
            dropout=0.0)
        model.compile(optimizer=AdamW(1e-3), **compile_args)
    return model

def varied_lengths(count=192):
    # Sorted by length, so consecutive batches fall in different buckets.
    rng = np.random.default_rng(0)
    lengths = np.sort(rng.integers(4, 64, count))
    ids = np.zeros([count, 64], "int32")
    labels = np.zeros([count], "int32")
    for row, length in enumerate(lengths):
        ids[row, :length] = rng.integers(5, 40, length)
        if row % 2:
            ids[row, rng.integers(0, length)] = tasks.MARKER
            labels[row] = 1
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids),
         "padding_mask": (ids != 0).astype("int32")}
    return x, labels

report = {}
one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
x, y = varied_lengths()

case("fixed")
model = build(one_device)
report["fixed"] = model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                            verbose=0).history["loss"]
report["steps"] = int(model.optimizer.iterations.numpy())

case("bucketed")
model = build(one_device)
report["bucketed"] = model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                               length_buckets=True, verbose=0
                               ).history["loss"]

case("mirrored")
model = build(mirrored)
report["mirrored"] = model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                               verbose=0).history["loss"]
x16 = {key: value[:16] for key, value in x.items()}
report["hlo"] = model._replica_gradients.experimental_get_compiler_ir(
    x16, tf.constant(y[:16]), None)(stage="hlo")[:200]

case("accumulated")
model = build(one_device, gradient_accumulation_steps=4)
report["accumulated"] = model.fit(x, y, batch_size=16, epochs=2,
                                  shuffle=False, verbose=0).history["loss"]
try:
    model.fit(x, y, batch_size=18, verbose=0)
except ValueError as error:
    report["accumulation_error"] = str(error)

case("mixed_float16")
set_precision("mixed_float16")
model = build(mirrored)
report["float16"] = model.fit(x, y, batch_size=16, epochs=2, shuffle=False,
                              verbose=0).history["loss"]
report["loss_scaled"] = type(model.optimizer).__name__
set_precision("float32")
print(json.dumps(report))
"""


def xla_compilations(log):
    """{case: {compiled function: count}} from TensorFlow's log."""
    counts, case = {}, None
    for line in log.splitlines():
        if line.startswith("CASE "):
            case = line.split()[1]
            counts[case] = {}
        match = re.search(r"Compiled (\S+) (\d+) times", line)
        if match and case:
            name = re.sub(r"_\d+$", "", match[1])
            counts[case][name] = max(counts[case].get(name, 0),
                                     int(match[2]))
    return counts


def test_xla_step_compiles_once_per_shape_and_options_match():
    report, log = run_with_two_cpus(
        SCRIPT, timeout=900, TF_CPP_MIN_LOG_LEVEL="0",
        TF_CPP_VMODULE="device_compilation_profiler=1",
    )
    compiled = xla_compilations(log)

    # One device: Keras' step is one XLA computation, compiled once for
    # the 24 steps of two epochs of one batch shape.
    assert report["steps"] == 24
    assert compiled["fixed"] == {"__inference_one_step_on_data": 1}

    # Length buckets: the sorted lengths put batches in all three buckets
    # (16, 32, 64): three compilations, not 24, and the same losses.
    assert compiled["bucketed"] == {"__inference_one_step_on_data": 3}
    for fixed, bucketed in zip(report["fixed"], report["bucketed"]):
        assert abs(fixed - bucketed) < 1e-5, report

    # Two replicas: the per-replica gradient pass is what XLA compiles,
    # once for 24 steps (the two logical CPUs share the executable); it
    # matches one device.
    assert compiled["mirrored"] == {"__inference__gradients": 1}
    assert report["hlo"].startswith("HloModule")
    for fixed, mirrored in zip(report["fixed"], report["mirrored"]):
        assert abs(fixed - mirrored) < 1e-4, report

    # 4 micro-batches of 4 give the update of the batch of 16.
    for fixed, accumulated in zip(report["fixed"], report["accumulated"]):
        assert abs(fixed - accumulated) < 1e-4, report
    assert "4 accumulation micro-batches" in report["accumulation_error"]

    # mixed_float16 trains with loss scaling, close to float32.
    assert report["loss_scaled"] == "LossScaleOptimizer"
    for fixed, half in zip(report["fixed"], report["float16"]):
        assert abs(fixed - half) < 2e-2, report

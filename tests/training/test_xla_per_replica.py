"""XLA training under MirroredStrategy on two logical CPU devices.

Each case runs in a fresh process: logical devices must be set up before
TensorFlow initialises.
"""

from tests.two_cpu_script import run_with_two_cpus

SCRIPT = r"""
from tfzoo.models import BertBackbone, BertClassifier, BertQuestionAnswerer
from tfzoo.training import AdamW

config = dict(tasks.TINY_BERT, dropout=0.0)

def train(strategy, task="classifier", clipnorm=None, accumulate=1):
    keras.utils.set_random_seed(5)
    if task == "classifier":
        x, y = tasks.marker_presence(256)
        build = lambda: BertClassifier(BertBackbone(**config), dropout=0.0)
    else:  # a task with its own multi-output loss
        x, y = tasks.span_after_marker(256)
        build = lambda: BertQuestionAnswerer(BertBackbone(**config))
    with strategy.scope():
        model = build()
        # A small clip norm, so that clipping acts on every step: it must
        # see the summed gradient, as on one device.
        model.compile(optimizer=AdamW(2e-3, global_clipnorm=clipnorm),
                      gradient_accumulation_steps=accumulate)
    history = model.fit(x, y, batch_size=64, epochs=3, shuffle=False,
                        verbose=0)
    return model, history.history["loss"]

one_device = tf.distribute.OneDeviceStrategy("/cpu:0")
two_devices = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
single, single_losses = train(one_device)
mirrored, mirrored_losses = train(two_devices)
_, single_qa_losses = train(one_device, "qa")
_, mirrored_qa_losses = train(two_devices, "qa")
_, single_clipped = train(one_device, clipnorm=0.05, accumulate=2)
_, mirrored_clipped = train(two_devices, clipnorm=0.05, accumulate=2)
x, y = tasks.marker_presence(256)
try:
    mirrored.fit(x, y, batch_size=63, verbose=0)
    batch_error = ""
except ValueError as error:
    batch_error = str(error)
print(json.dumps({
    "batch_error": batch_error,
    "single": single_losses,
    "single_qa": single_qa_losses,
    "mirrored_qa": mirrored_qa_losses,
    "mirrored": mirrored_losses,
    "single_clipped": single_clipped,
    "mirrored_clipped": mirrored_clipped,
    "replicas": mirrored.distribute_strategy.num_replicas_in_sync,
    "per_replica_xla": mirrored._xla_per_replica,
    "keras_jit": mirrored.jit_compile,
    "single_keras_jit": single.jit_compile,
}))
"""


def test_mirrored_xla_training_matches_one_device():
    report, _ = run_with_two_cpus(
        SCRIPT, timeout=600, TF_CPP_MIN_LOG_LEVEL="3"
    )
    assert report["replicas"] == 2
    # One device: Keras compiles the whole step with XLA. Two devices: the
    # per-replica gradient pass is XLA-compiled, the update is not.
    assert report["single_keras_jit"] is True
    assert report["per_replica_xla"] is True and report["keras_jit"] is False
    assert "63 does not divide evenly over 2 replicas" in report["batch_error"]
    for single, mirrored in zip(report["single"], report["mirrored"]):
        assert abs(single - mirrored) < 1e-4, report
    for single, mirrored in zip(report["single_qa"], report["mirrored_qa"]):
        assert abs(single - mirrored) < 1e-4, report
    # Clipping (by global norm) and gradient accumulation act on the summed
    # gradient, so they match one device too.
    assert report["single_clipped"] != report["single"]
    for single, mirrored in zip(report["single_clipped"],
                                report["mirrored_clipped"]):
        assert abs(single - mirrored) < 1e-4, report

"""T5Seq2SeqLM trains under MirroredStrategy on two logical CPUs with the
XLA per-replica step, and matches one device."""

from tests.two_cpu_script import run_with_two_cpus

SCRIPT = """
from tfzoo.models import T5Backbone, T5Seq2SeqLM

rng = np.random.default_rng(0)
# 64 sources of 7 tokens plus </s>; each target is its source reversed
# plus </s>, every position real: the same tokens weigh the same on one
# device and on two replicas.
sources = rng.integers(3, 40, size=(64, 7))
encoder_ids = np.concatenate([sources, np.ones((64, 1), int)], 1)
labels = np.concatenate([sources[:, ::-1], np.ones((64, 1), int)], 1)
decoder_ids = np.concatenate([np.zeros((64, 1), int), labels[:, :-1]], 1)
features = {
    "encoder_token_ids": encoder_ids.astype("int32"),
    "encoder_padding_mask": np.ones((64, 8), "int32"),
    "decoder_token_ids": decoder_ids.astype("int32"),
    "decoder_padding_mask": np.ones((64, 8), "int32"),
}
dataset = tf.data.Dataset.from_tensor_slices(
    (features, labels.astype("int32"))).batch(8)

def losses(strategy):
    keras.utils.set_random_seed(3)
    with strategy.scope():
        model = T5Seq2SeqLM(T5Backbone(
            40, 1, 2, 32, 64, num_decoder_layers=1, max_sequence_length=16))
        model.compile(learning_rate=1e-2)
    history = model.fit(dataset, epochs=3, verbose=0)
    return history.history["loss"], model._xla_per_replica

one, one_per_replica = losses(tf.distribute.OneDeviceStrategy("/cpu:0"))
two, two_per_replica = losses(
    tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
print(json.dumps({"one": one, "two": two, "per_replica": [
    one_per_replica, two_per_replica]}))
"""


def test_mirrored_training_matches_one_device():
    report, _ = run_with_two_cpus(SCRIPT, timeout=600)
    assert report["per_replica"] == [False, True]
    assert report["one"][-1] < report["one"][0] * 0.9  # it learns
    for one, two in zip(report["one"], report["two"]):
        assert abs(one - two) < 1e-4, report

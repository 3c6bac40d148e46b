import json

import pytest
import tensorflow as tf

from tfzoo.training import check_global_batch_size, resolve_strategy


def test_names_resolve_on_this_machine(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert resolve_strategy("default") is tf.distribute.get_strategy()
    assert resolve_strategy("auto") is tf.distribute.get_strategy()
    one = resolve_strategy("one_device")
    assert isinstance(one, tf.distribute.OneDeviceStrategy)
    mirrored = resolve_strategy("mirrored")
    assert isinstance(mirrored, tf.distribute.MirroredStrategy)


def test_unknown_name():
    with pytest.raises(ValueError, match="Unknown strategy 'horovod'"):
        resolve_strategy("horovod")


def test_tpu_without_a_tpu_is_a_clear_error():
    with pytest.raises(ValueError, match="found no TPU"):
        resolve_strategy("tpu")


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"cluster": {"worker": ["a:1"]}}), "'task' dict"),
        (
            json.dumps({"cluster": {"worker": ["a:1"]},
                        "task": {"type": "worker", "index": 3}}),
            "does not name a member",
        ),
    ],
)
def test_malformed_tf_config(monkeypatch, tf_config, message):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ValueError, match=message):
        resolve_strategy("multi_worker")


def test_multi_worker_needs_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        resolve_strategy("multi_worker")


def test_global_batch_on_one_replica_is_any_size():
    check_global_batch_size(63, tf.distribute.get_strategy())

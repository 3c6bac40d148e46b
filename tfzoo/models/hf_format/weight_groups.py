"""The weights of a model as named groups, for loading and saving.

A family's checkpoint format (`hf_bert`, `hf_roberta`, ...) describes a
tfzoo model as `ModelWeights`: the Hugging Face architecture it
corresponds to, groups of `WeightSpec`s (the encoder, the pooler, a task
head), and tied tensors, which a checkpoint may repeat (e.g. the masked-LM
decoder, which is the token embedding) but which are never written.
"""

import dataclasses


@dataclasses.dataclass
class WeightGroup:
    """Specs loaded together: all present, or (if optional) all absent.

    Attributes:
        name: shown in messages, e.g. "classifier head".
        specs: the `WeightSpec`s.
        required: a checkpoint without these tensors is an error.
        save: written by `save_pretrained`.
        announce: when absent, say that the layer starts from fresh
            weights (False for layers the task does not use).
        same_architecture_only: loaded only from a checkpoint of the same
            architecture (when config.json names it): sequence and token
            classifiers both call their head "classifier".
    """

    name: str
    specs: list
    required: bool = False
    save: bool = True
    announce: bool = True
    same_architecture_only: bool = False


@dataclasses.dataclass
class ModelWeights:
    """A tfzoo model as a Hugging Face architecture's tensors."""

    architecture: str
    groups: list
    tied: list = dataclasses.field(default_factory=list)  # (name, variable)
    config: dict = dataclasses.field(default_factory=dict)

    @property
    def specs(self):
        return [spec for group in self.groups for spec in group.specs]


def variable_path(variable):
    """A readable path of a Keras variable, e.g. `pooler/kernel`."""
    return getattr(variable, "path", None) or variable.name

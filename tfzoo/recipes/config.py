"""Recipe configuration: defaults, then a YAML file, then flags.

Every recipe builds an `argparse` parser whose flags are its settings.
`parse_config` adds `--config`: a YAML mapping from flag names (without
the dashes) to values. A value comes from the flag when it is given on
the command line, else from the YAML file, else from the flag's default.
YAML values are converted and checked by the flag's own `type` and
`choices`; an unknown key or a bad value is an error naming the file and
line.

This module imports no TensorFlow: recipes build their parser from it
and import TensorFlow only after parsing, so `--help` and
`--print_config` answer at once.
"""

import argparse

import yaml

from tfzoo.presets import BERT_PRESETS


class ConfigError(ValueError):
    """A configuration file or flag value that cannot be used."""


def recipe_parser(doc):
    """An `argparse` parser whose help is the recipe's docstring."""
    return argparse.ArgumentParser(
        description=doc.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=doc.split("\n", 1)[1],
    )


def _flag_adder(parser, defaults):
    def add(name, help, **kwargs):
        kwargs["default"] = defaults.get(name, kwargs.get("default"))
        parser.add_argument(f"--{name}", help=help, **kwargs)

    return add


def add_training_flags(parser, defaults):
    """The flags every recipe takes; `defaults` overrides theirs."""
    add = _flag_adder(parser, defaults)
    add("strategy", "tf.distribute strategy: auto, default, one_device, "
        "mirrored, multi_worker, tpu (default %(default)s)", default="auto")
    add("precision", "float32, mixed_bfloat16 or mixed_float16 "
        "(default %(default)s)", default="float32",
        choices=("float32", "mixed_bfloat16", "mixed_float16"))
    add("epochs", "passes over the training data (default %(default)s)",
        type=int, default=3)
    add("batch_size", "global batch size (default %(default)s)", type=int,
        default=32)
    add("learning_rate", "peak AdamW learning rate, after linear warmup "
        "(default %(default)s)", type=float, default=5e-5)
    add("sequence_length", "tokens per packed example "
        "(default %(default)s)", type=int, default=128)
    add("model_dir", "run directory: checkpoints (a rerun resumes from "
        "them), TensorBoard logs, the vocabulary, eval.json and curves.png "
        "(default %(default)s)", default="runs/recipe")
    add("export_dir", "where SavedModel versions for TF Serving go "
        "(default: MODEL_DIR/export)")
    add("seed", "random seed (default %(default)s)", type=int, default=7)
    parser.add_argument(
        "--no_xla", action="store_true",
        help="run the training step without XLA (XLA compiles each step "
        "once, which pays off on long runs)")
    add("checkpoint_every", "also save a checkpoint every this many steps "
        "(default: at the end of each epoch)", type=int)


def add_common_flags(parser, defaults):
    """The flags every BERT recipe takes: the training flags, plus the
    model, vocabulary and TFDS ones; `defaults` overrides theirs."""
    add = _flag_adder(parser, defaults)
    add("preset", "BERT size to build when --init_checkpoint is not given: "
        f"{', '.join(BERT_PRESETS)} (default %(default)s)",
        default="bert_tiny")
    add("init_checkpoint", "start from these weights instead of a random "
        "init: a directory written by recipes/bert_pretrain.py (backbone."
        "keras + vocab.txt), or a Hugging Face BERT or DistilBERT directory "
        "(config.json, model.safetensors, vocab.txt)")
    add_training_flags(parser, defaults)
    add("vocabulary_size", "upper bound of the WordPiece vocabulary trained "
        "on the training text when there is no --init_checkpoint or "
        "--vocabulary (default %(default)s)", type=int, default=2000)
    add("vocabulary", "an existing vocab.txt to use instead of training "
        "one (ignored with --init_checkpoint, which brings its own)")
    add("tfds_name", "read a TensorFlow Datasets dataset instead of local "
        "files (prepared in --data_dir; nothing is downloaded)")
    add("data_dir", "the TFDS data directory for --tfds_name")


def parse_config(parser, argv=None):
    """Parses `argv` with `--config` support; returns an argparse Namespace.

    Example:

    >>> import os, tempfile
    >>> parser = argparse.ArgumentParser()
    >>> _ = parser.add_argument("--epochs", type=int, default=3)
    >>> _ = parser.add_argument("--model_dir", default="runs/x")
    >>> path = os.path.join(tempfile.mkdtemp(), "run.yaml")
    >>> with open(path, "w") as file:
    ...     _ = file.write("epochs: 10\\nmodel_dir: runs/y\\n")
    >>> config = parse_config(parser, ["--config", path, "--epochs", "2"])
    >>> config.epochs, config.model_dir  # the flag wins over the file
    (2, 'runs/y')
    """
    parser.add_argument(
        "--config", help="YAML file of settings (flag names without the "
        "dashes as keys); flags given on the command line override it")
    parser.add_argument(
        "--print_config", action="store_true",
        help="print the settings as YAML (defaults, --config file and flags "
        "combined) and exit")
    args = _resolve(parser, argv)
    if args.print_config:
        settings = {k: v for k, v in sorted(vars(args).items())
                    if k not in ("config", "print_config")}
        print(yaml.safe_dump(settings, sort_keys=True), end="")
        raise SystemExit(0)
    return args


def _resolve(parser, argv):
    args = parser.parse_args(argv)
    if not args.config:
        return args
    given = _flags_given(parser, argv)
    actions = {
        action.dest: action for action in parser._actions
        if action.dest not in ("help", "config", "print_config")
    }
    for key, (value, line) in load_yaml_mapping(args.config).items():
        where = f"{args.config}, line {line}"
        if key not in actions:
            raise ConfigError(
                f"{where}: unknown setting {key!r}. Known settings: "
                f"{', '.join(sorted(actions))}."
            )
        if key not in given:
            setattr(args, key, _convert(actions[key], value, where))
    return args


def load_yaml_mapping(path):
    """`{key: (value, line)}` from a YAML file holding one flat mapping."""
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except FileNotFoundError:
        raise ConfigError(f"Config file {path!r} not found.") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"{path}{line}: invalid YAML ({error.problem})."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of setting: value, got "
            f"{type(data).__name__}."
        )
    lines = {
            key_node.value: key_node.start_mark.line + 1
            for key_node, _ in node.value
    }
    result = {}
    for key, value in data.items():
        line = lines.get(str(key), 1)
        if isinstance(value, (dict, list)):
            raise ConfigError(
                f"{path}, line {line}: {key!r} must be a single value, got "
                f"a {type(value).__name__}."
            )
        result[str(key)] = (value, line)
    return result


def _flags_given(parser, argv):
    """The destinations of the flags written on the command line."""
    probe = argparse.Namespace()
    for action in parser._actions:
        if action.dest != "help":
            setattr(probe, action.dest, _UNSET)
    parser.parse_args(argv, namespace=probe)
    return {
        name for name, value in vars(probe).items() if value is not _UNSET
    }


_UNSET = object()


def _convert(action, value, where):
    if value is None:
        return None
    if isinstance(action, (argparse._StoreTrueAction,
                           argparse._StoreFalseAction)):
        if not isinstance(value, bool):
            raise ConfigError(
                f"{where}: {action.dest!r} must be true or false, got "
                f"{value!r}."
            )
        return value
    converted = value
    if action.type is not None:
        try:
            converted = action.type(value if not isinstance(value, bool)
                                    else str(value))
        except (TypeError, ValueError):
            kind = {int: "an integer", float: "a number"}.get(
                action.type, "a valid value")
            raise ConfigError(
                f"{where}: {action.dest!r} must be {kind}, got {value!r}."
            ) from None
    elif not isinstance(value, str):
        converted = str(value)
    if action.choices is not None and converted not in action.choices:
        raise ConfigError(
            f"{where}: {action.dest!r} must be one of "
            f"{', '.join(map(str, action.choices))}; got {value!r}."
        )
    return converted

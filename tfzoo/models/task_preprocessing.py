"""What serving needs from a task model's preprocessor."""


def require_preprocessor(model, preprocessor_class):
    """Returns `model.preprocessor`, failing clearly if it is missing or
    of another kind than `preprocessor_class`."""
    preprocessor = getattr(model, "preprocessor", None)
    if preprocessor is None:
        raise ValueError(
            f"Serving raw text with a {type(model).__name__} needs the "
            f"model's preprocessor: build the model with "
            f"preprocessor={preprocessor_class.__name__}(...)."
        )
    if not isinstance(preprocessor, preprocessor_class):
        raise TypeError(
            f"A {type(model).__name__} is served with a "
            f"{preprocessor_class.__name__}, but its preprocessor is a "
            f"{type(preprocessor).__name__}."
        )
    return preprocessor


def label_names(model):
    """The preprocessor's label names, or "0", "1", ... without them."""
    names = model.preprocessor.label_names
    if names is None:
        return [str(index) for index in range(model.num_classes)]
    if len(names) != model.num_classes:
        raise ValueError(
            f"The preprocessor has {len(names)} label names but the model "
            f"has {model.num_classes} classes."
        )
    return [str(name) for name in names]

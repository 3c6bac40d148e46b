"""Token <-> id lookups with clear errors, shared by the tokenizers."""


def id_of_token(ids_by_token, token):
    """`ids_by_token[token]`, or a `KeyError` naming the token.

    >>> id_of_token({"a": 0, "b": 1}, "b")
    1
    """
    if token not in ids_by_token:
        raise KeyError(f"{token!r} is not in the vocabulary.")
    return ids_by_token[token]


def token_of_id(tokens, token_id):
    """`tokens[token_id]`, or an `IndexError` for an id outside the
    vocabulary or one it leaves out (a None entry).

    >>> token_of_id(["a", "b"], 1)
    'b'
    """
    if not 0 <= token_id < len(tokens):
        raise IndexError(
            f"Token id {token_id} is outside the vocabulary "
            f"[0, {len(tokens)})."
        )
    if tokens[token_id] is None:
        raise IndexError(f"Token id {token_id} has no token.")
    return tokens[token_id]

"""Reads a text file line by line, naming the line of any bad UTF-8."""


def read_utf8_lines(path):
    """Yields `(line_number, line)` pairs, 1-based, without the line ending.

    Decodes each line separately so that bytes that are not UTF-8 raise a
    ValueError naming the file and line, not just a byte offset. A UTF-8
    byte-order mark at the start of the file is dropped.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "two.txt")
    >>> _ = open(path, "wb").write("first\\r\\nsecond\\n".encode())
    >>> list(read_utf8_lines(path))
    [(1, 'first'), (2, 'second')]
    """
    with open(path, "rb") as file:
        for line_number, raw_line in enumerate(file, start=1):
            try:
                line = raw_line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ValueError(
                    f"{path}, line {line_number}: the bytes are not valid "
                    f"UTF-8 (byte {raw_line[error.start]:#04x} at position "
                    f"{error.start + 1} of the line). Fix: re-save the file "
                    f"with UTF-8 encoding."
                ) from None
            if line_number == 1:
                line = line.removeprefix("\ufeff")
            yield line_number, line.rstrip("\r\n")

"""The words a family uses to describe its Hugging Face checkpoint format.

A family folder holds one module per Hugging Face `model_type` it reads
and writes (`tfzoo/models/bert/hf_roberta.py`, ...) and registers it with
`tfzoo.models.registry`. Those modules say *what* the format is: config
fields (`config_fields`), which tensor holds which variable
(`weight_specs`), grouped per layer and head (`weight_groups`).
`tfzoo.convert` does the reading and writing.
"""

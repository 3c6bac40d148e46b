"""Which signatures of a SavedModel need XLA compilation to run.

`tensorflow_model_server` without `--xla_cpu_compilation_enabled` calls
`tensorflow::DisableXlaCompilation()`; a function that must be compiled
(FunctionDef attr `_XlaMustCompile`, from `tf.function(jit_compile=True)`)
then fails with INTERNAL "XLA compilation disabled". TensorFlow's Python
runtime has no such switch, so the local server finds these signatures
when it loads a version and refuses them itself.
"""

MUST_COMPILE_ATTR = "_XlaMustCompile"


def xla_signatures(meta_graph):
    """Names of the signatures that reach a must-compile function.

    Walks from each signature's output nodes back through the graph, and
    from every function called on the way (call ops' `f`, while and cond
    bodies, functions used as ops) through the function library.
    """
    graph_def = meta_graph.graph_def
    nodes = {node.name: node for node in graph_def.node}
    library = {f.signature.name: f for f in graph_def.library.function}
    names = set()
    for name, signature in meta_graph.signature_def.items():
        outputs = [tensor.name for tensor in signature.outputs.values()]
        if _reaches_must_compile(outputs, nodes, library):
            names.add(name)
    return names


def _reaches_must_compile(tensor_names, nodes, library):
    stack = [_node_name(name) for name in tensor_names]
    seen_nodes, seen_functions, functions = set(), set(), []
    while stack:
        name = stack.pop()
        if name in seen_nodes or name not in nodes:
            continue
        seen_nodes.add(name)
        node = nodes[name]
        stack.extend(_node_name(input_name) for input_name in node.input)
        functions.extend(_called(node, library))
    while functions:
        name = functions.pop()
        if name in seen_functions:
            continue
        seen_functions.add(name)
        function = library[name]
        if function.attr[MUST_COMPILE_ATTR].b:
            return True
        for node in function.node_def:
            functions.extend(_called(node, library))
    return False


def _called(node, library):
    names = [node.op]
    for value in node.attr.values():
        if value.HasField("func"):
            names.append(value.func.name)
        names.extend(function.name for function in value.list.func)
    return [name for name in names if name in library]


def _node_name(tensor_name):
    return tensor_name.lstrip("^").split(":")[0]

"""The graph onnxruntime runs, faster than the exported file's (a build takes ~25 % less CPU),
with the eval figures kept (README): attention products in float32, layer norms unfused, no
attention mask (one text per run). Measured with onnxruntime's profiler, one thread."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import onnx

# onnxruntime's fused SkipLayerNormalization (CPU) is a scalar loop with a division per
# element: 290 us per layer on a 148-token passage, where Add + LayerNormalization take 50
# (14 % of the whole run). Its float sums differ slightly from the pair's, so the vectors do too.
DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]

# In the file names and model ids of what this graph computes: its vectors are not the
# exported file's (cosine 0.996 to 1.0), so an embedding cache or index made before is not used.
# A new one with any change to the graph: the cached graphs (int8_weights.py) are then made again.
GRAPH_TAG = "a32"


def faster_graph(model: onnx.ModelProto) -> None:
    """``model`` made into the graph the encoder runs (in place): ``fp32_attention`` and
    ``unmasked_attention``."""
    fp32_attention(model)
    unmasked_attention(model)


def _consumers(graph: onnx.GraphProto) -> dict[str, list]:
    found: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            found.setdefault(i, []).append(n)
    return found


def _keep_what_leads_to_outputs(graph: onnx.GraphProto, nodes: list) -> None:
    """``nodes`` (in order) become the graph's, less those whose results no output needs."""
    needed = {o.name for o in graph.output}
    live = []
    for n in reversed(nodes):
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(n.input)
    del graph.node[:]
    graph.node.extend(reversed(live))
    for k in reversed(range(len(graph.initializer))):  # one by one: no copy of the weights
        if graph.initializer[k].name not in needed:
            del graph.initializer[k]


def fp32_attention(model: onnx.ModelProto) -> int:
    """Each product of two activations (Q·Kᵀ and softmax·V, per head) in float32 instead of
    dynamically quantised uint8 (``quantize_dynamic`` quantises every MatMul): no quantising
    of both operands and packing of the second at each run (340 of ~1,800 us per layer at 148
    tokens), and the float model's arithmetic. Products with weights stay int8. Returns how
    many products were changed."""
    from onnx import helper

    graph = model.graph
    constants = {i.name for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers = _consumers(graph)

    def only_consumer(name: str, op: str):
        found = consumers.get(name, [])
        return found[0] if len(found) == 1 and found[0].op_type == op else None

    # MatMulInteger(DynamicQuantizeLinear(a), DynamicQuantizeLinear(b)) -> Cast -> Mul(scales)
    replaced = {}
    for n in graph.node:
        if n.op_type != "MatMulInteger" or n.input[1] in constants:
            continue
        qa, qb = producer.get(n.input[0]), producer.get(n.input[1])
        cast = only_consumer(n.output[0], "Cast")
        mul = cast and only_consumer(cast.output[0], "Mul")
        if mul and all(q is not None and q.op_type == "DynamicQuantizeLinear" for q in (qa, qb)):
            matmul = helper.make_node("MatMul", [qa.input[0], qb.input[0]], [mul.output[0]])
            matmul.name = f"{n.name}_float"
            replaced[id(mul)] = matmul
    if replaced:  # the quantisers go with what no output needs any more
        _keep_what_leads_to_outputs(graph, [replaced.get(id(n), n) for n in graph.node])
    return len(replaced)


def unmasked_attention(model: onnx.ModelProto) -> int:
    """The attention scores without the mask's addition: the encoder runs one text at a time,
    never padded, so the mask is all ones and what it adds all +0.0 (x + 0.0 == x: the same
    vectors, bit for bit), on 12 x 148 x 148 scores per layer at 148 tokens, plus the nodes
    that make it (~7 % of a build). A padded batch would need the mask: not this graph.
    Returns how many additions were removed."""
    graph = model.graph
    consumers = _consumers(graph)
    from_mask: set[str] = set()
    front = [i.name for i in graph.input if i.name == "attention_mask"]
    while front:
        for n in consumers.get(front.pop(), []):
            if n.op_type == "Add" and "attention" in n.name:
                continue  # a sink: scores + mask
            for o in n.output:
                if o not in from_mask:
                    from_mask.add(o)
                    front.append(o)
    bypass: dict[str, str] = {}
    nodes = []
    for n in graph.node:
        others = [i for i in n.input if i not in from_mask]
        if n.op_type == "Add" and "attention" in n.name and len(others) == 1:
            bypass[n.output[0]] = others[0]
        else:
            nodes.append(n)
    for n in nodes:
        for k, name in enumerate(n.input):
            n.input[k] = bypass.get(name, name)
    if bypass:
        _keep_what_leads_to_outputs(graph, nodes)
    return len(bypass)

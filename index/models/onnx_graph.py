"""The graph onnxruntime runs, faster than the exported file's (a build is ~20 % quicker) with
every eval figure kept: attention products in float32, layer norms unfused (measured with
onnxruntime's profiler on a 148-token passage, one thread, in the README)."""

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
GRAPH_TAG = "a32"


def fp32_attention(model: onnx.ModelProto) -> int:
    """Each product of two activations (Q·Kᵀ and softmax·V, per head) in float32 instead of
    dynamically quantised uint8 (``quantize_dynamic`` quantises every MatMul): no quantising
    of both operands and packing of the second at each run (340 of ~1,800 us per layer at 148
    tokens), and the float model's arithmetic. Products with weights stay int8. Returns how
    many products were changed; the graph is modified in place."""
    from onnx import helper

    graph = model.graph
    constants = {i.name for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

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
    if not replaced:
        return 0
    nodes = [replaced.get(id(n), n) for n in graph.node]
    needed = {o.name for o in graph.output}
    live = []
    for n in reversed(nodes):  # what still leads to an output: the quantisers go
        if any(o in needed for o in n.output):
            live.append(n)
            needed.update(n.input)
    del graph.node[:]
    graph.node.extend(reversed(live))
    kept = [i for i in graph.initializer if i.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    return len(replaced)

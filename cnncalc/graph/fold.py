"""Fold BatchNorm into the preceding convolution or linear layer, as deployed.

At inference BatchNorm uses its running statistics, so per channel it is the
affine map `y = a*x + b` with `a = gamma / sqrt(var + eps)` and
`b = beta - a*mean`. Applied after a layer with weights W and bias c, it gives
the same outputs as that layer with `W' = a*W` and bias `c' = a*c + b`. The
folded network therefore has no BatchNorm rows: their parameters and running
statistics go away, and a producer without a bias gains one (C_out values).

The fold rewrites the spec (drops the BatchNorm entries, gives producers a
bias, rewires consumers) and analyses it again, so every total, the peak
memory and the receptive fields stay consistent with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cnncalc.spec.model import Spec
from cnncalc.spec.validate import INPUT_NAME

BATCHNORM_TYPES = ("batchnorm1d", "batchnorm2d")
# Layers with one weight slice and one bias per output channel, which is what
# a per-channel affine map can be folded into.
FOLDABLE_PRODUCERS = ("conv2d", "conv_transpose2d", "linear")


@dataclass(frozen=True)
class FoldDecision:
    """Whether one BatchNorm layer folds; `reason` is None when it does."""

    batchnorm: str
    producer: str | None
    reason: str | None


@dataclass(frozen=True)
class GraphIndex:
    """Lookups over the analysed nodes that every fold decision needs."""

    by_name: dict
    consumers: dict[str, list[str]]
    shared_targets: frozenset[str]

    @classmethod
    def build(cls, nodes) -> "GraphIndex":
        consumers: dict[str, list[str]] = {}
        for node in nodes:
            for name in node.inputs:
                consumers.setdefault(name, []).append(node.spec.name)
        return cls(
            by_name={node.spec.name: node for node in nodes},
            consumers=consumers,
            shared_targets=frozenset(node.spec.share for node in nodes if node.spec.share is not None),
        )


def fold_decision(node, nodes, outputs, index: GraphIndex | None = None) -> FoldDecision:
    """Decide whether the BatchNorm `node` can fold into the layer feeding it.

    Args:
        node: an analysed BatchNorm node (`graph.propagate.Node`).
        nodes: all analysed nodes in spec order.
        outputs: names of the network outputs.
        index: `GraphIndex.build(nodes)`, to reuse across many decisions.
    """
    index = index or GraphIndex.build(nodes)
    name = node.spec.name

    def keep(reason: str, producer: str | None = None) -> FoldDecision:
        return FoldDecision(name, producer, reason)

    if node.spec.share is not None or name in index.shared_targets:
        return keep("it shares its parameters with another layer, so folding would change both")
    if not node.layer.track_running_stats:
        return keep("track_running_stats is false, so it normalises with batch statistics even at inference")

    producer_name = node.inputs[0]
    if producer_name == INPUT_NAME:
        return keep("its input is the network input, not a convolution or linear layer")
    producer = index.by_name[producer_name]
    if producer.spec.type not in FOLDABLE_PRODUCERS:
        return keep(
            f"its input '{producer_name}' is {producer.spec.type}, not " + ", ".join(FOLDABLE_PRODUCERS),
            producer_name,
        )

    others = [c for c in index.consumers.get(producer_name, []) if c != name]
    if others or producer_name in outputs:
        users = ", ".join(f"'{c}'" for c in others) or "the network output"
        return keep(f"'{producer_name}' also feeds {users}, which needs its output before normalisation",
                    producer_name)
    if producer.spec.share is not None or producer_name in index.shared_targets:
        return keep(f"'{producer_name}' shares its weights with another layer, so folding would change both",
                    producer_name)
    return FoldDecision(name, producer_name, None)


def fold_decisions(nodes, outputs) -> list[FoldDecision]:
    """Return a decision for every BatchNorm node, in spec order."""
    index = GraphIndex.build(nodes)
    return [fold_decision(node, nodes, outputs, index) for node in nodes if node.spec.type in BATCHNORM_TYPES]


def fold_spec(spec: Spec, nodes, decisions: list[FoldDecision]) -> Spec:
    """Return a copy of `spec` with the folding BatchNorm layers removed.

    Every remaining layer gets explicit `inputs`, because removing a layer
    would otherwise change what "the previous layer" means. Layer indexes
    keep their original values, so the table shows a gap where a BatchNorm was.
    """
    folded = {d.batchnorm: d.producer for d in decisions if d.reason is None}
    producers = set(folded.values())

    def rename(name: str) -> str:
        return folded.get(name, name)

    layers = []
    for layer_spec, node in zip(spec.layers, nodes):
        if layer_spec.name in folded:
            continue
        args = dict(layer_spec.args)
        if layer_spec.name in producers:
            args["bias"] = True
        layers.append(replace(layer_spec, args=args, inputs=[rename(name) for name in node.inputs]))

    outputs = [rename(name) for name in spec.outputs] if spec.outputs else spec.outputs
    return replace(spec, layers=layers, outputs=outputs)


def analyze_folded(spec: Spec, batch_size: int | None = None, dtype: str | None = None):
    """Analyze `spec` as deployed, with foldable BatchNorm layers folded.

    Returns:
        (report, decisions): the folded report and one FoldDecision per
        BatchNorm layer of the original spec.
    """
    from cnncalc.graph.propagate import analyze, propagate

    nodes = propagate(spec)
    outputs = spec.outputs or [nodes[-1].spec.name]
    decisions = fold_decisions(nodes, outputs)
    return analyze(fold_spec(spec, nodes, decisions), batch_size=batch_size, dtype=dtype), decisions


def fold_notes(decisions: list[FoldDecision], before, after) -> list[str]:
    """Return the stderr notes of a fold: what folded, what changed, what was kept and why."""
    notes = []
    folded = [d for d in decisions if d.reason is None]
    if folded:
        params = after.totals.params - before.totals.params
        buffers = after.totals.buffers - before.totals.buffers
        count = f"{len(folded)} BatchNorm layer" + ("s" if len(folded) != 1 else "")
        notes.append(f"note: folded {count} into the convolution or linear layer feeding "
                     f"{'each' if len(folded) != 1 else 'it'} ({params:+,} params, {buffers:+,} buffers)")
    elif not decisions:
        notes.append("note: --fold-bn found no BatchNorm layers; the report is unchanged")
    for decision in decisions:
        if decision.reason is not None:
            notes.append(f"note: kept BatchNorm '{decision.batchnorm}': {decision.reason}")
    return notes

"""How many examples a LoRA adapter (plus its classification head) can memorise.

The paper's argument: a rank-r update of a d x k weight lives on the manifold of rank-<=r matrices, whose
dimension is r(d + k - r). Summed over the adapted modules (and adding the linear head), that is the number of
effective free parameters P. Once the training set is much larger than P, not every labelling can be fitted,
so a low-rank adapter is forced to fit the consistent (clean) part of the labels and leaves the noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from torch import nn

from ract.errors import RactError


def lora_degrees_of_freedom(d: int, k: int, r: int) -> int:
    """Effective free parameters of a rank-``r`` update of a ``d x k`` weight: ``r * (d + k - r)``.

    Why not the parameter count ``r * (d + k)`` of ``B`` (d x r) and ``A`` (r x k)? The product ``B @ A`` is
    unchanged by ``B -> B G``, ``A -> G^-1 A`` for any invertible r x r ``G`` (a GL(r) gauge freedom), so
    ``r^2`` of those parameters are redundant. What remains is the dimension of the smooth manifold of d x k
    matrices of rank exactly r, which is ``r * (d + k - r)``.

    Args:
        d: output features (rows of the weight), > 0.
        k: input features (columns of the weight), > 0.
        r: adapter rank, ``0 <= r <= min(d, k)``.

    Returns:
        The dimension (a count of real parameters).
    """
    if d <= 0 or k <= 0:
        raise RactError(f"matrix shape must be positive, got d={d}, k={k}")
    if r < 0 or r > min(d, k):
        raise RactError(f"LoRA rank must be between 0 and min(d, k) = {min(d, k)}, got r={r}")
    return r * (d + k - r)


@dataclass
class LoraCapacity:
    """Effective parameter count of LoRA adapters on a model plus a linear classification head.

    Attributes:
        rank: the LoRA rank r used for every adapted module.
        modules: one ``(name, d, k, dof)`` per adapted ``nn.Linear``; d = out_features, k = in_features,
            dof = r(d + k - r).
        total_lora_dof: sum of the per-module dof (count of real parameters).
        hidden_size: input width of the head (features of the pooled representation).
        num_classes: C, the number of classes of the head.
        head_params: ``hidden_size * C + C`` (weights + biases of the linear head).
        total: ``total_lora_dof + head_params``, the effective free parameters P.
    """

    rank: int
    modules: list[tuple[str, int, int, int]] = field(default_factory=list)
    total_lora_dof: int = 0
    hidden_size: int = 0
    num_classes: int = 2
    head_params: int = 0
    total: int = 0

    def memorization_n(self, num_classes: int | None = None) -> int:
        """Sample size n* beyond which not every labelling of the training set can be fitted.

        Rule: ``n* = P``, the total effective free parameters (LoRA dof + head parameters for
        ``num_classes`` classes, default: the ones this capacity was computed for). This is the paper's
        ``n > O(r(d + k - r))`` threshold with the constant taken as 1: one fitted label per effective
        degree of freedom, as for a model linear in P parameters, which can interpolate arbitrary targets
        on n generic points exactly when n <= P. A bits-based count (``P * bits_per_param / log2(C)``)
        only changes the constant, so the constant is a convention; the capacity experiment is what checks
        it (noisy labels stop being memorised once n is a few times n*).

        Args:
            num_classes: C >= 2, or None for ``self.num_classes``.

        Returns:
            n*, a number of training examples.
        """
        c = self.num_classes if num_classes is None else num_classes
        if c < 2:
            raise RactError(f"a classifier needs at least 2 classes, got {c}")
        return self.total_lora_dof + head_parameter_count(self.hidden_size, c)


def head_parameter_count(hidden_size: int, num_classes: int) -> int:
    """Weights and biases of a linear head from ``hidden_size`` features to ``num_classes`` logits."""
    return hidden_size * num_classes + num_classes


def layer_index(name: str) -> int | None:
    """Layer index of a dotted module name: its first all-digit component (``encoder.layer.4.x`` -> 4)."""
    for part in name.split("."):
        if part.isdigit():
            return int(part)
    return None


def _as_linear(module: nn.Module) -> nn.Linear | None:
    """The ``nn.Linear`` itself, or the base layer of a peft-wrapped linear, else None."""
    if isinstance(module, nn.Linear):
        return module
    base = getattr(module, "base_layer", None)
    return base if isinstance(base, nn.Linear) else None


def _target_linears(
    model: nn.Module, target_modules: list[str], layers: list[int] | None
) -> list[tuple[str, nn.Linear]]:
    """``(name, linear)`` for each targeted linear, restricted to ``layers`` when given."""
    wanted = set(layers) if layers is not None else None
    found = []
    for name, module in model.named_modules():
        if name.rsplit(".", 1)[-1] not in target_modules:
            continue
        linear = _as_linear(module)
        if linear is None:
            continue
        if wanted is not None and layer_index(name) not in wanted:
            continue
        found.append((name, linear))
    return found


def lora_capacity(
    model: nn.Module,
    rank: int,
    target_modules: list[str],
    layers: list[int] | None,
    num_classes: int,
    hidden_size: int | None = None,
) -> LoraCapacity:
    """Count the effective free parameters of rank-``rank`` LoRA on ``model`` plus a linear head.

    Args:
        model: the encoder (plain or already wrapped by peft; peft's wrapped linears are read through their
            ``base_layer``).
        rank: LoRA rank r applied to every targeted module.
        target_modules: leaf names of the adapted linears, e.g. ``["query", "value"]``.
        layers: layer indices to adapt (the first all-digit component of the module name), or None for all.
        num_classes: C, the number of classes of the head (>= 2).
        hidden_size: input width of the head; default: ``in_features`` of the first targeted linear.

    Returns:
        A :class:`LoraCapacity`; ``.total`` is P and ``.memorization_n()`` is n*.
    """
    if rank <= 0:
        raise RactError(f"LoRA rank must be positive, got {rank}")
    if num_classes < 2:
        raise RactError(f"a classifier needs at least 2 classes, got {num_classes}")
    linears = _target_linears(model, target_modules, layers)
    if not linears:
        where = "" if layers is None else f" in layers {layers}"
        raise RactError(f"no nn.Linear named {target_modules}{where} in {type(model).__name__}")
    modules = []
    for name, lin in linears:
        d, k = lin.out_features, lin.in_features
        modules.append((name, d, k, lora_degrees_of_freedom(d, k, rank)))
    hidden = linears[0][1].in_features if hidden_size is None else hidden_size
    total_lora = sum(m[3] for m in modules)
    head = head_parameter_count(hidden, num_classes)
    return LoraCapacity(
        rank=rank,
        modules=modules,
        total_lora_dof=total_lora,
        hidden_size=hidden,
        num_classes=num_classes,
        head_params=head,
        total=total_lora + head,
    )

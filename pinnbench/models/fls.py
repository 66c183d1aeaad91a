"""FLS: the first-layer-sine network RoPINN evaluates as a base model."""

from __future__ import annotations

import dataclasses

from pinnbench.models.mlp import MLP
from pinnbench.registry import models


@models.register("fls")
@dataclasses.dataclass(frozen=True)
class FLS(MLP):
    """MLP whose first hidden layer has a sine activation (first-layer sine, Wong et al. 2022).

    sin(W1 z + b1) acts as a learned sinusoidal feature map of the mapped input z; the later
    layers use ``activation`` (tanh by default). This is the reading of RoPINN's and
    PINNsFormer's benchmark code (a sine after the first linear layer, Glorot-normal weights);
    Wong et al.'s sf-PINN also scales the first layer's initial weights, which is not done here.
    Every option of ``mlp`` applies, and so does its jet.
    """

    def activations(self) -> tuple[str, ...]:
        return ("sin",) + (self.activation,) * (self.depth - 1)

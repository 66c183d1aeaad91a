"""DeepXDE (PyTorch backend) side of the Helmholtz speed benchmark, run as a child process.

Started by ``benchmarks/run.py`` so that torch and jax never share a process. It builds the same
problem as pinnbench's ``helmholtz2d`` (a1 = 1, a2 = 4, k = 1 on [-1, 1]^2) the way DeepXDE's
examples do, then answers commands read one per line on stdin:

    train N [T [S]]  run ``model.train(iterations=N)`` on T torch threads (default: torch's
                     own choice), stopping early once S seconds of steps have run, and report
                     the time of its steps
    quit        exit

Each answer is one JSON line on the original stdout; everything DeepXDE itself prints goes to
stderr. Step times are taken from a callback at the start of every step, so the loss/test
evaluation ``model.train`` does before the first step and after the last one is not counted.
"""

from __future__ import annotations

import json
import os
import sys
import time

# Keep the protocol channel clean: anything printed by the libraries goes to stderr.
_PROTO = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())

os.environ["DDE_BACKEND"] = "pytorch"


def send(obj: dict) -> None:
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


def main() -> int:
    cfg = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    try:
        import deepxde as dde
        import numpy as np
        import torch
    except Exception as e:
        send({"ok": False, "error": f"{type(e).__name__}: {e}"})
        return 0

    a1, a2, k = cfg.get("a1", 1.0), cfg.get("a2", 4.0), cfg.get("k", 1.0)
    width, depth = cfg.get("width", 64), cfg.get("depth", 4)
    n_domain, n_boundary = cfg.get("n_interior", 4096), cfg.get("n_boundary", 1024)
    lr = cfg.get("lr", 1e-3)
    dde.config.set_default_float("float32")
    dde.config.set_random_seed(cfg.get("seed", 0))
    pi = np.pi
    factor = k**2 - (a1**2 + a2**2) * pi**2

    def exact(x):
        return np.sin(a1 * pi * x[:, 0:1]) * np.sin(a2 * pi * x[:, 1:2])

    def pde(x, u):
        u_xx = dde.grad.hessian(u, x, i=0, j=0)
        u_yy = dde.grad.hessian(u, x, i=1, j=1)
        sin = dde.backend.sin
        f = factor * sin(a1 * pi * x[:, 0:1]) * sin(a2 * pi * x[:, 1:2])
        return u_xx + u_yy + k**2 * u - f

    geom = dde.geometry.Rectangle([-1.0, -1.0], [1.0, 1.0])
    bc = dde.icbc.DirichletBC(geom, exact, lambda _, on_boundary: on_boundary)
    data = dde.data.PDE(geom, pde, bc, num_domain=n_domain, num_boundary=n_boundary)
    net = dde.nn.FNN([2] + [width] * depth + [1], "tanh", "Glorot normal")
    model = dde.Model(data, net)
    model.compile("adam", lr=lr)

    class StepClock(dde.callbacks.Callback):
        """Clock readings at the start of every step; asks to stop once ``max_s`` have run."""

        def __init__(self, max_s: float, min_steps: int = 5) -> None:
            super().__init__()
            self.max_s, self.min_steps = max_s, min_steps
            self.starts: list[float] = []
            self.cpu: list[float] = []

        def on_batch_begin(self) -> None:
            self.starts.append(time.perf_counter())
            self.cpu.append(time.process_time())

        def on_batch_end(self) -> None:
            if (len(self.starts) > self.min_steps
                    and time.perf_counter() - self.starts[0] > self.max_s):
                self.model.stop_training = True

    default_threads = torch.get_num_threads()
    send({
        "ok": True,
        "deepxde": dde.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "dtype": str(torch.get_default_dtype()),
        "n_params": sum(p.numel() for p in net.parameters()),
    })

    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] != "train":
            send({"ok": False, "error": f"unknown command {line.strip()!r}"})
            continue
        n = int(cmd[1])
        torch.set_num_threads(int(cmd[2]) if len(cmd) > 2 else default_threads)
        clock = StepClock(float(cmd[3]) if len(cmd) > 3 else float("inf"))
        t0 = time.perf_counter()
        model.train(iterations=n, display_every=10**9, callbacks=[clock], verbose=0)
        wall = time.perf_counter() - t0
        starts = clock.starts
        # From the start of the first step to the start of the last: len - 1 whole steps, none
        # of which includes the evaluation model.train runs after its last step.
        steps = len(starts) - 1
        seconds = starts[-1] - starts[0]
        send({
            "ok": True,
            "steps": steps,
            "seconds": seconds,
            "steps_per_s": steps / seconds if seconds > 0 else float("nan"),
            "wall_s": wall,
            "cpu_s_per_step": (clock.cpu[-1] - clock.cpu[0]) / steps if steps else float("nan"),
            "threads": torch.get_num_threads(),
            "total_steps": int(model.train_state.step),
            "loss": float(np.sum(model.train_state.loss_train)),
            "n_train_points": int(data.train_x.shape[0]),
            "n_bc_points": int(sum(data.num_bcs)),
        })
    return 0


if __name__ == "__main__":
    sys.exit(main())

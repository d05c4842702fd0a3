"""test_torch.py - mnet.nn with PyTorch (run by test_mnet.py when torch is
importable): the autograd Function passes torch.autograd.gradcheck in double
(step, init, sense), and a small PyTorch GRU trained through the effector
reaches a lower loss.  Exits non-zero on any failure."""
import os
import sys

import numpy as np
import torch

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "python"))
import mnet  # noqa: E402
import mnet.nn  # noqa: E402

torch.manual_seed(0)
eff = mnet.compile(os.path.join(SOURCE, "examples", "reach_point_mass.mnet"))
plant = mnet.nn.Effector(eff)
B, D, M, S = 3, eff.n_dof, eff.n_muscles, eff.n_state
lo, hi = (torch.from_numpy(x) for x in eff.joint_range)
q = lo + (hi - lo) * (0.3 + 0.4 * torch.rand(B, D, dtype=torch.float64))
joint0 = torch.cat([q, 0.1 * torch.randn(B, D, dtype=torch.float64)], 1)
state = plant.init(joint0).detach()
# init puts each activation at a_min (0 for this relu muscle), on the clamp's
# kink, where a central difference is not the derivative: check the step
# from interior activations
act = [i for i, n in enumerate(eff.names["state"]) if n.startswith("muscle.activation.")]
state[:, act] = 0.2 + 0.5 * torch.rand(B, len(act), dtype=torch.float64)
state.requires_grad_(True)
action = (0.2 + 0.6 * torch.rand(B, M, dtype=torch.float64)).requires_grad_(True)
load = (0.1 * torch.randn(B, eff.n_load, dtype=torch.float64)).requires_grad_(True)
ok = True
for name, fn, args in [("step", lambda s, a, l: mnet.nn.EffectorStep.apply(s, a, l, eff), (state, action, load)),
                       ("init", lambda j: mnet.nn.EffectorInit.apply(j, eff), (joint0.clone().requires_grad_(True),)),
                       ("sense", lambda s: mnet.nn.EffectorSense.apply(s, eff), (state,))]:
    passed = torch.autograd.gradcheck(fn, args, eps=1e-6, atol=1e-5, rtol=1e-4, raise_exception=False)
    print("gradcheck %-6s %s" % (name, "ok" if passed else "FAIL"))
    ok &= passed

# a GRU trained through the effector: reach the goal from the start
T, H = 40, 16
goal = torch.tensor([[0.5, 0.5]], dtype=torch.float64).expand(B, 2) if eff.space_dim == 2 else None


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = torch.nn.GRUCell(eff.n_sense + eff.space_dim, H, dtype=torch.float64)
        self.out = torch.nn.Linear(H, M, dtype=torch.float64)

    def forward(self, x, h):
        h = self.gru(x, h)
        return torch.sigmoid(self.out(h)), h


cart = eff.names["state"].index(next(s for s in eff.names["state"] if s.startswith("cartesian")))
net = Net()
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
s0 = plant.init(torch.cat([0.5 * (lo + hi).expand(B, D), torch.zeros(B, D, dtype=torch.float64)], 1)).detach()
target = s0[:, cart:cart + eff.space_dim] + 0.05


def episode():
    s, h, loss = s0, torch.zeros(B, H, dtype=torch.float64), 0
    for _ in range(T):
        a, h = net(torch.cat([plant.sense(s), target], 1), h)
        s = plant(s, a)
        loss = loss + (s[:, cart:cart + eff.space_dim] - target).abs().sum(1).mean() / T
    return loss


first = episode().item()
for it in range(60):
    opt.zero_grad()
    loss = episode()
    loss.backward()
    opt.step()
last = episode().item()
print("GRU through the effector: loss %.5f -> %.5f" % (first, last))
ok &= last < first
sys.exit(0 if ok else 1)

#!/usr/bin/python3
"""bench/check_peer.py - the peer's effectors against the golden data.

Replays each golden case's initial joint states and actions through the
effector classes of bench/peer.py in float64, and prints the maximum relative
error (max |peer - golden| / max |golden|, /work/shared/golden/README.md) of
the joint trajectory, and of the cartesian, muscle and geometry states, the
scalar loss and its gradients with respect to the actions and the initial
joint state (by autograd through the whole rollout).  This shows that the
benchmark peer computes the same thing as the reference and as mnet.

    /usr/bin/python3 bench/check_peer.py [GOLDEN_DIR]

Exits 1 when the joint trajectory of a case is off by more than 1e-7 (the
golden README's double-precision tolerance).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer  # noqa: E402

CASES = [
    # golden file                     effector
    ("pm24_relu_euler_contact.golden", peer.relu_point_mass_24),
    ("arm26_rigid_euler.golden", peer.rigid_tendon_arm_26),
    ("arm26_rigid_loads.golden", peer.rigid_tendon_arm_26),
    ("ct26_rk4.golden", peer.compliant_tendon_arm_26),
]
TOL = 1e-7


def read_golden(path):
    """{'meta': {key: value}, name: float64 tensor}."""
    out = {"meta": {}}
    with open(path) as f:
        lines = f.read().split("\n")
    if not lines[0].startswith("mnet-golden 1"):
        raise ValueError(f"{path}: not an mnet-golden 1 file")
    i = 1
    while i < len(lines):
        words = lines[i].split()
        i += 1
        if not words:
            continue
        if words[0] == "meta":
            out["meta"][words[1]] = " ".join(words[2:])
        elif words[0] == "array":
            shape = [int(x) for x in words[2:]]
            n_lines = 1
            for d in shape[:-1]:
                n_lines *= d
            vals = " ".join(lines[i:i + n_lines]).split()
            i += n_lines
            out[words[1]] = torch.tensor([float(v) for v in vals],
                                         dtype=torch.float64).reshape(shape)
    return out


def rel(ours, ref):
    scale = ref.abs().max().item()
    err = (ours.detach() - ref).abs().max().item()
    return err / scale if scale > 0 else err


def check(path, make):
    g = read_golden(path)
    meta = g["meta"]
    eff = make(torch.float64)
    assert abs(eff.step_size - float(meta["dt"])) < 1e-15, "step"
    eff.endpoint_load = g["endpoint_load"].clone()
    eff.joint_load = g["joint_load"].clone()
    eff.damping = float(meta.get("damping", "0"))

    joint0 = g["initial_joint"].clone().requires_grad_(True)
    actions = g["actions"].clone().requires_grad_(True)          # (T, B, M)
    T = actions.shape[0]
    s = eff.initial_state(joint0)
    traj = [s]
    for t in range(T):
        s = eff.step(actions[t], s)
        traj.append(s)
    joint = torch.stack([x[0] for x in traj])                     # (T+1, B, 2 dof)
    cart = torch.stack([x[1] for x in traj])
    muscle = torch.stack([x[2] for x in traj])                    # (T+1, B, rows, M)
    geom = torch.stack([x[3] for x in traj])
    fmax = eff.muscle.fmax[0]
    loss = ((g["W_cartesian"] * cart[1:]).sum()
            + (g["W_force"] * muscle[1:, :, -1, :] / fmax).sum())
    loss.backward()
    figures = {
        "joint": rel(joint, g["joint"]),
        "cartesian": rel(cart, g["cartesian"]),
        "muscle": rel(muscle, g["muscle"]),
        "geometry": rel(geom, g["geometry"]),
        "loss": rel(loss.reshape(1), g["loss"]),
        "grad_actions": rel(actions.grad, g["grad_actions"]),
        "grad_initial_joint": rel(joint0.grad, g["grad_initial_joint"]),
    }
    return meta, figures


def main():
    gdir = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/golden"
    failed = 0
    for name, make in CASES:
        path = os.path.join(gdir, name)
        if not os.path.exists(path):
            print(f"check_peer {name}: missing, skipped")
            continue
        meta, f = check(path, make)
        ok = f["joint"] <= TOL
        failed += not ok
        rest = " ".join(f"{k}={v:.2e}" for k, v in f.items() if k != "joint")
        print(f"check_peer {meta['case']} (B={meta['batch']} T={meta['steps']}) "
              f"joint_max_rel_err={f['joint']:.2e} {rest} {'ok' if ok else 'FAIL'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

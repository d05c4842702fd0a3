"""test_torch_forward.py - mnet's forward pass against PyTorch (issue 15).

Two runs trained for a few batches by `mnet train` (so the weights are not
the initialisation) and rolled out by `mnet eval`:

  1. examples/reach_lstm.mnet: a two-layer LSTM with a linear read-out;
  2. examples/modular_dale.mnet: a modular GRU with Dale's law (masked,
     signed weights), delays between its modules and the sigmoid read-out;
  3. the same with the rectified-tanh candidate and a learned initial state.

torch.nn.GRU has neither delays nor those options, so for (2) and (3) the
test writes the GRU step out in torch (DelayedGRU: the equations, each
module pair's recurrent block reading the state its delay back), and first
checks that this step with every delay 0 is torch.nn.GRU's to 1e-12.

From each run's weights.safetensors alone the test builds torch.nn.LSTM /
torch.nn.GRU and a torch.nn.Linear read-out with the nonlinearity the file's
metadata names (mnet.readout), feeds it the recorded inputs (`obs`, sensor
noise included) from a zero initial state, and compares its hidden states
(every layer) and outputs with the recorded `hidden.<l>`, `output` and, where
no action noise was drawn, `action`.  For the modular run it also checks the
stored masks and signs against the weights and against the module layout in
the metadata, and, as a control, that hidden noise (which the inputs do not
carry) does make torch disagree.

The comparison needs torch; without it the test prints why and exits 77,
which CTest reports as skipped (tests/api/CMakeLists.txt: SKIP_RETURN_CODE).

usage: python3 test_torch_forward.py MNET_BINARY     (ctest passes build/tools/mnet)
"""
import os
import subprocess
import sys
import tempfile

SKIP = 77
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "tests", "runtime"))
from read_episodes import read  # noqa: E402  (the numpy reader of docs/episodes.md)

# mnet train / eval link the float runtime (libmnetrt_f): the recorded hidden
# states and outputs are float32 numbers computed in float32 from float32
# weights.  Torch recomputes them in double from the same float32 weights and
# inputs, so the difference is mnet's float32 rounding: a few ulps of numbers
# of order 1 per step (~1e-7), carried through 80 steps of a recurrence that
# contracts; measured 8e-8 at most (hidden states; outputs 3e-8).  1e-5
# absolute leaves room for another compiler's or BLAS kernel's summation
# order, while a real disagreement (two gates swapped, a bias, a mask, the
# initial state, hidden noise of sd 1e-3) is of order 1e-3.
TOL = 1e-5


def mnet(binary, *args):
    r = subprocess.run([binary] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("mnet %s failed (%d):\n%s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr))
    return r.stdout


def tensor(torch, a):
    return torch.from_numpy(a.astype("float64"))  # a copy: the file's arrays are read-only


class DelayedGRU:
    """One GRU layer whose recurrent input from module a to module b is the
    state delay(b, a) steps older than the one step of recurrence (h0 before
    the episode), with the candidate max(0, tanh) when rectified and the
    initial state h0 (mnet_nn.h, "delays between modules")."""

    def __init__(self, torch, w, meta, delays=None):
        import numpy as np
        self.torch = torch
        self.W_ih, self.W_hh = tensor(torch, w["gru.weight_ih_l0"]), tensor(torch, w["gru.weight_hh_l0"])
        self.b_ih, self.b_hh = tensor(torch, w["gru.bias_ih_l0"]), tensor(torch, w["gru.bias_hh_l0"])
        H = self.W_hh.shape[1]
        self.h0 = tensor(torch, w["gru.h0"][0]) if "gru.h0" in w else torch.zeros(H, dtype=torch.float64)
        self.rectified = meta.get("mnet.candidate", "tanh") == "rectified_tanh"
        names, unit_module = [], []
        for spec in meta.get("mnet.modules", "all:%d:-1" % H).split():
            name, units, _ = spec.split(":")
            names.append(name)
            unit_module += [len(names) - 1] * int(units)
        unit_module = np.array(unit_module)
        if delays is None:  # "FROM>TO:STEPS ..."
            delays = {}
            for spec in meta.get("mnet.delays", "").split():
                pair, steps = spec.split(":")
                a, b = pair.split(">")
                delays[(names.index(b), names.index(a))] = int(steps)
        # d[j, i]: the delay of the weight from unit i to unit j
        d = np.zeros((H, H), dtype=int)
        for (b, a), steps in delays.items():
            d[np.ix_(unit_module == b, unit_module == a)] = steps
        # W_hh split by delay: one masked copy per delay value (every gate)
        self.blocks = [(k, self.W_hh * tensor(torch, np.tile(d == k, (3, 1))))
                       for k in sorted(set(d.ravel().tolist()))]

    def __call__(self, x):
        """x (N, T, I) -> states (N, T, H)"""
        torch = self.torch
        N, T, _ = x.shape
        H = self.W_hh.shape[1]
        past = [self.h0.expand(N, H)]  # past[t] = the state after step t-1 (past[0] = h0)
        for t in range(T):
            gi = x[:, t] @ self.W_ih.T + self.b_ih
            gh = self.b_hh.expand(N, 3 * H).clone()
            for k, W in self.blocks:
                gh = gh + past[max(t - k, 0)] @ W.T
            r = torch.sigmoid(gi[:, :H] + gh[:, :H])
            z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
            if self.rectified:
                n = torch.relu(n)
            past.append((1 - z) * n + z * past[t])
        return torch.stack(past[1:], 1)


class Policy:
    """torch.nn.LSTM / torch.nn.GRU (one module per layer, so that every
    layer's states can be compared) and the read-out, from weights.safetensors."""

    def __init__(self, torch, weights_path):
        self.torch = torch
        self.meta, w = read(weights_path)
        cell = self.meta["mnet.cell"]
        assert cell in ("lstm", "gru"), cell
        # what torch.nn.LSTM / GRU compute: tanh candidate, zero initial
        # state, no delays between modules; a one-layer GRU with any of them
        # is written out in torch (DelayedGRU)
        plain = all(self.meta.get(k, v) == v for k, v in (("mnet.candidate", "tanh"),
                                                          ("mnet.initial_state", "zero"), ("mnet.delays", "")))
        self.delayed = None
        if not plain:
            assert cell == "gru" and self.meta["mnet.n_layers"] == "1", "options torch.nn does not have: %s" % cell
            self.delayed = DelayedGRU(torch, w, self.meta)
        kind = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
        n_in, H = int(self.meta["mnet.n_input"]), int(self.meta["mnet.n_hidden"])
        L, O = int(self.meta["mnet.n_layers"]), int(self.meta["mnet.n_output"])
        self.layers = []
        for l in range(L):
            rnn = kind(n_in if l == 0 else H, H, num_layers=1, batch_first=True).double()
            # strict: every parameter torch expects, with its shape, is in the file
            rnn.load_state_dict({k + "_l0": tensor(torch, w["%s.%s_l%d" % (cell, k, l)])
                                 for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")})
            self.layers.append(rnn)
        self.fc = torch.nn.Linear(H, O).double()
        self.fc.load_state_dict({"weight": tensor(torch, w["fc.weight"]), "bias": tensor(torch, w["fc.bias"])})
        self.readout = {"sigmoid": torch.sigmoid, "linear": lambda z: z,
                        "relu": torch.relu}[self.meta.get("mnet.readout", "sigmoid")]
        self.weights = w

    def __call__(self, obs):
        """obs (N, T, I) -> [hidden of each layer (N, T, H)], output (N, T, O);
        torch's default initial state is zero (h, and the LSTM's c), as mnet's."""
        x, hidden = tensor(self.torch, obs), []
        with self.torch.no_grad():
            for rnn in [self.delayed] if self.delayed else self.layers:
                x = rnn(x) if rnn is self.delayed else rnn(x)[0]
                hidden.append(x.numpy())
            y = self.readout(self.fc(x)).numpy()
        return hidden, y


def compare(label, policy, episodes_path, with_action):
    """Max |torch - mnet| over hidden.<l>, output (and action)."""
    import numpy as np
    meta, a = read(episodes_path)
    run = dict(line.split("=", 1) for line in meta["run"].split("\n") if "=" in line)
    assert float(run["noise.hidden"]) == 0, "hidden noise is on: %s" % run["noise.hidden"]
    hidden, y = policy(a["obs"])
    assert len(hidden) == len([k for k in a if k.startswith("hidden.")])
    d_h = max(float(np.abs(h - a["hidden.%d" % l]).max()) for l, h in enumerate(hidden))
    d_y = float(np.abs(y - a["output"]).max())
    d_a = float(np.abs(y - a["action"]).max()) if with_action else float("nan")
    N, T = a["obs"].shape[:2]
    print("%-34s %2d episodes x %d steps, noise %-21s max |diff| hidden %.3g  output %.3g  action %s"
          % (label, N, T, meta["noise"], d_h, d_y, "%.3g" % d_a if with_action else "(noise drawn)"))
    # the states must move: a network that stayed at 0 would agree trivially
    assert all(float(np.abs(h).max()) > 0.05 for h in hidden), [float(np.abs(h).max()) for h in hidden]
    assert d_h < TOL and d_y < TOL and not d_a >= TOL, "%s: torch and mnet disagree" % label
    return d_h, d_y, d_a


def check_masks(policy):
    """The masked weights are 0, every sign holds, and the masks have the
    module structure mnet.modules describes (examples/modular_dale.mnet:
    Dale's law in every module, read-out from m1)."""
    import numpy as np
    w, H = policy.weights, int(policy.meta["mnet.n_hidden"])
    W_ih, W_hh, W_fc = w["gru.weight_ih_l0"], w["gru.weight_hh_l0"], w["fc.weight"]
    m_ih, m_hh, s_hh = w["gru.mask_ih_l0"], w["gru.mask_hh_l0"], w["gru.sign_hh_l0"]
    m_fc, s_fc = w["fc.mask_weight"], w["fc.sign_weight"]
    for name, m in (("mask_ih", m_ih), ("mask_hh", m_hh), ("mask_fc", m_fc)):
        assert set(np.unique(m)) <= {0.0, 1.0}, name
        assert 0 < (m == 0).mean() < 1, (name, (m == 0).mean())  # sparse, not empty
    for name, W, m in (("weight_ih", W_ih, m_ih), ("weight_hh", W_hh, m_hh), ("fc.weight", W_fc, m_fc)):
        assert np.all(W[m == 0] == 0), "%s: %d masked weights are not 0" % (name, np.sum(W[m == 0] != 0))
        assert np.any(W[m != 0] != 0), name
    for name, W, s in (("weight_hh", W_hh, s_hh), ("fc.weight", W_fc, s_fc)):
        assert np.all(W * s >= 0), "%s: %d weights against their sign" % (name, np.sum(W * s < 0))
    # The layout: units in module order, the first round(P N) of a module
    # excitatory (sign +1 on every outgoing weight), the rest inhibitory (-1),
    # projecting only within their module and never to the read-out.
    unit_module, unit_sign, start = [], [], 0
    for k, spec in enumerate(policy.meta["mnet.modules"].split()):
        name, units, exc = spec.split(":")
        n_exc = int(float(exc) * int(units) + 0.5)
        unit_module += [k] * int(units)
        unit_sign += [1.0] * n_exc + [-1.0] * (int(units) - n_exc)
        if name == "m1":
            m1 = (start, start + int(units))
        start += int(units)
    assert start == H, (start, H)
    unit_module, unit_sign = np.array(unit_module), np.array(unit_sign)
    row_module = np.tile(unit_module, 3)  # rows: r, z, n gates of each unit
    for j in range(H):
        on = m_hh[:, j] != 0
        assert np.all(s_hh[on, j] == unit_sign[j]) and np.all(s_hh[~on, j] == 0), "unit %d: signs" % j
        assert np.all(s_fc[m_fc[:, j] != 0, j] == unit_sign[j]), "unit %d: read-out signs" % j
        if unit_sign[j] < 0:
            assert np.all(row_module[on] == unit_module[j]), "inhibitory unit %d leaves its module" % j
            assert not m_fc[:, j].any(), "inhibitory unit %d reaches the read-out" % j
        if not m1[0] <= j < m1[1]:
            assert not m_fc[:, j].any(), "unit %d outside m1 reaches the read-out" % j
    print("modular GRU: %d of %d recurrent and %d of %d input weights masked, all 0; "
          "signs hold; %d units, %d inhibitory"
          % (int((m_hh == 0).sum()), m_hh.size, int((m_ih == 0).sum()), m_ih.size, H, int((unit_sign < 0).sum())))


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    try:
        import torch
        import numpy as np
    except ImportError as e:
        print("test_torch_forward: skipped: torch is not installed (%s): mnet's LSTM and masked GRU "
              "were not compared with torch.nn.LSTM / torch.nn.GRU" % e)
        return SKIP
    binary = os.path.abspath(sys.argv[1])
    print("torch %s" % torch.__version__)
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        # (1) the two-layer LSTM, linear read-out; the validation set (no noise)
        lstm = os.path.join(tmp, "lstm")
        mnet(binary, "train", os.path.join(SOURCE, "examples", "reach_lstm.mnet"), "--batches", "3",
             "--set", "train.batch=8", "--threads", "1", "--out", lstm)
        policy = Policy(torch, os.path.join(lstm, "weights.safetensors"))
        assert policy.meta["mnet.readout"] == "linear" and len(policy.layers) == 2, policy.meta
        # every bias but the read-out's starts at 0: trained weights moved them
        assert np.abs(policy.weights["lstm.bias_ih_l1"]).max() > 0
        val = os.path.join(tmp, "lstm.safetensors")
        mnet(binary, "eval", lstm, "--out", val)
        assert read(val)[0]["noise"] == "off"
        worst = max(worst, *compare("LSTM (2 layers, linear read-out)", policy, val, True))

        # (2) the modular GRU with Dale's law, sigmoid read-out: the validation
        # set, and drawn episodes with the task's action and sensor noise (the
        # sensor noise is in obs; action noise comes after the output)
        mod = os.path.join(tmp, "modular")
        mnet(binary, "train", os.path.join(SOURCE, "examples", "modular_dale.mnet"), "--batches", "3",
             "--set", "train.batch=4", "--threads", "1", "--out", mod)
        policy = Policy(torch, os.path.join(mod, "weights.safetensors"))
        assert policy.meta["mnet.readout"] == "sigmoid" and "mnet.modules" in policy.meta, policy.meta
        assert np.abs(policy.weights["gru.bias_hh_l0"]).max() > 0
        check_masks(policy)
        val = os.path.join(tmp, "modular.safetensors")
        mnet(binary, "eval", mod, "--out", val)
        assert read(val)[0]["noise"] == "off"
        worst = max(worst, *compare("modular GRU (Dale), validation", policy, val, True))
        drawn = os.path.join(tmp, "drawn.safetensors")
        mnet(binary, "eval", mod, "--episodes", "6", "--seed", "5", "--out", drawn)
        meta, a = read(drawn)
        assert meta["noise"].startswith("seed=5"), meta["noise"]
        assert np.abs(a["action"] - a["output"]).max() > 1e-3  # action noise was drawn
        worst = max(worst, *compare("modular GRU (Dale), drawn + noise", policy, drawn, False)[:2])

        # the written-out GRU step is torch.nn.GRU's when no delay is set
        assert policy.delayed is not None and len(policy.delayed.blocks) == 3, "the example has delays of 0, 1, 2"
        plain = DelayedGRU(torch, policy.weights, {"mnet.modules": policy.meta["mnet.modules"]}, delays={})
        x = tensor(torch, a["obs"])
        with torch.no_grad():
            d = float((plain(x) - policy.layers[0](x)[0]).abs().max())
        print("DelayedGRU with no delays vs torch.nn.GRU: max |diff| %.3g" % d)
        assert d < 1e-12, d
        # and the delays matter: without them the recorded states are missed
        with torch.no_grad():
            d = float(np.abs(plain(x).numpy() - a["hidden.0"]).max())
        print("control: the same weights without the delays give max |diff| hidden %.3g (must exceed %g)"
              % (d, 10 * TOL))
        assert d > 10 * TOL, d

        # (3) the rectified-tanh candidate and a learned initial state
        opt = os.path.join(tmp, "options")
        mnet(binary, "train", os.path.join(SOURCE, "examples", "modular_dale.mnet"), "--batches", "3",
             "--set", "train.batch=4", "--set", "policy.candidate=rectified_tanh", "--set",
             "policy.initial_state=learned", "--threads", "1", "--out", opt)
        policy3 = Policy(torch, os.path.join(opt, "weights.safetensors"))
        assert policy3.delayed.rectified and np.abs(policy3.weights["gru.h0"]).max() > 0
        val = os.path.join(tmp, "options.safetensors")
        mnet(binary, "eval", opt, "--out", val)
        worst = max(worst, *compare("rectified tanh, learned h0", policy3, val, True))
        # controls: the plain tanh candidate, or a zero initial state, miss
        _, a = read(val)
        x = tensor(torch, a["obs"])
        for what in ("tanh candidate", "zero initial state"):
            other = DelayedGRU(torch, policy3.weights, policy3.meta)
            if what == "tanh candidate":
                other.rectified = False
            else:
                other.h0 = torch.zeros_like(other.h0)
            with torch.no_grad():
                d = float(np.abs(other(x).numpy() - a["hidden.0"]).max())
            print("control: a %s gives max |diff| hidden %.3g (must exceed %g)" % (what, d, 10 * TOL))
            assert d > 10 * TOL, (what, d)

        # the control: the same episodes with hidden noise, which obs does not
        # carry, must disagree well beyond the tolerance
        noisy = os.path.join(tmp, "noisy.safetensors")
        mnet(binary, "eval", mod, "--episodes", "6", "--seed", "5", "--set", "noise.hidden=0.001",
             "--out", noisy)
        _, a = read(noisy)
        d = float(np.abs(policy(a["obs"])[0][0] - a["hidden.0"]).max())
        print("control: noise.hidden=0.001 gives max |diff| hidden %.3g (must exceed %g)" % (d, 10 * TOL))
        assert d > 10 * TOL, d

    print("test_torch_forward: torch agrees with mnet: max |diff| %.3g (tolerance %g)" % (worst, TOL))
    assert worst < TOL, (worst, TOL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""read_episodes.py - reads an episodes file (docs/episodes.md) with numpy
alone and checks every tensor's shape against the header; with
weights.safetensors, also the hidden states and the output against
PyTorch's GRU or LSTM equations and the read-out (sigmoid, linear or relu,
the weights' mnet.readout) in numpy, and against torch.nn.GRU / nn.LSTM
when torch is installed.

    python3 read_episodes.py EPISODES [WEIGHTS]
"""
import inspect
import json
import os
import struct
import sys


def read(path):  # the reader of docs/episodes.md
    import numpy as np
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = memoryview(blob)[8 + n:]
    dtypes = {"F32": "<f4", "F64": "<f8"}
    arrays = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        if end > len(data):
            raise ValueError(f"{path}: {name} runs past the end of the file (truncated?)")
        a = np.frombuffer(data[begin:end], dtype=dtypes[t["dtype"]])
        arrays[name] = a.reshape(t["shape"])
    return meta, arrays


def check_shapes(meta, a):
    """Every tensor's shape from the metadata's sizes and names."""
    N, T = int(meta["n_episodes"]), int(meta["n_steps"])
    names = {k[6:]: (v.split(",") if v else []) for k, v in meta.items() if k.startswith("names.")}
    I, M, D = len(names["obs"]), len(names["muscle"]), len(names["joint"])
    NL, K = len(names["load"]), len(names["point"])
    P = NL - D
    want = {"obs": (N, T, I), "output": (N, T, M), "action": (N, T, M), "load": (N, T, NL),
            "joint.q": (N, T + 1, D), "joint.qd": (N, T + 1, D),
            "endpoint.pos": (N, T + 1, P), "endpoint.vel": (N, T + 1, P),
            "target": (N, T + 1, P), "goal": (N, P), "start": (N, P), "go_time": (N,),
            "catch": (N,)}
    want.update({"muscle." + r: (N, T + 1, M) for r in names["muscle_row"]})
    want.update({"loss." + t: (N, T + 1) for t in names["loss"]})
    if K:
        want["body.points"] = (N, T + 1, K, P)
    hidden = sorted(k for k in a if k.startswith("hidden."))
    H = a[hidden[0]].shape[2] if hidden else 0
    want.update({h: (N, T, H) for h in hidden})
    assert meta["mnet.format"] == "mnet-episodes" and meta["version"] == "1", meta
    assert hidden == ["hidden.%d" % l for l in range(len(hidden))], hidden
    assert set(a) == set(want), sorted(set(a) ^ set(want))
    for k, shape in want.items():
        assert a[k].shape == shape and a[k].dtype.kind == "f", (k, a[k].shape, shape)
    return len(a), N, T


def readout(wmeta, z):
    """The read-out's nonlinearity named by mnet.readout (sigmoid if absent)."""
    import numpy as np
    kind = wmeta.get("mnet.readout", "sigmoid")
    if kind == "linear":
        return z
    if kind == "relu":
        return np.maximum(z, 0)
    assert kind == "sigmoid", kind
    return 1 / (1 + np.exp(-z))


def check_gru_numpy(a, weights_path):
    """hidden.<l> and output by PyTorch's GRU or LSTM equations, in numpy
    (float64)."""
    import numpy as np
    wmeta, w = read(weights_path)
    cell = wmeta.get("mnet.cell")
    if cell not in ("gru", "lstm"):
        print("read_episodes: the network is not a GRU or an LSTM: the numpy check is skipped")
        return
    sig = lambda z: 1 / (1 + np.exp(-z))
    x = a["obs"].astype(np.float64)  # (N, T, I)
    worst = 0.0
    for l in range(int(wmeta["mnet.n_layers"])):
        Wi, Wh, bi, bh = (w["%s.%s_l%d" % (cell, k, l)].astype(np.float64)
                          for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        H = Wh.shape[1]
        h, c, out = np.zeros((x.shape[0], H)), np.zeros((x.shape[0], H)), []
        for t in range(x.shape[1]):
            gi, gh = x[:, t] @ Wi.T + bi, h @ Wh.T + bh
            if cell == "gru":
                r, z = sig(gi[:, :H] + gh[:, :H]), sig(gi[:, H:2 * H] + gh[:, H:2 * H])
                n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
                h = (1 - z) * n + z * h
            else:  # torch.nn.LSTM: rows i, f, g, o
                g4 = gi + gh
                i, f = sig(g4[:, :H]), sig(g4[:, H:2 * H])
                g, o = np.tanh(g4[:, 2 * H:3 * H]), sig(g4[:, 3 * H:])
                c = f * c + i * g
                h = o * np.tanh(c)
            out.append(h)
        x = np.stack(out, axis=1)
        worst = max(worst, float(np.abs(x - a["hidden.%d" % l]).max()))
    y = readout(wmeta, x @ w["fc.weight"].astype(np.float64).T + w["fc.bias"])
    worst_y = float(np.abs(y - a["output"]).max())
    print(f"read_episodes: numpy {cell.upper()} ({wmeta.get('mnet.readout', 'sigmoid')} read-out) "
          f"vs hidden.*: max |diff| {worst:.3g}; read-out {worst_y:.3g}")
    assert worst < 1e-5 and worst_y < 1e-5, (worst, worst_y)


def check_torch(meta, a, weights_path):
    """hidden.<l> and output from torch.nn.GRU / torch.nn.LSTM and the
    read-out on obs."""
    try:
        import torch
    except ImportError:
        print("read_episodes: SKIP: torch is not installed: the torch.nn.GRU / torch.nn.LSTM "
              "comparison did not run")
        return
    import numpy as np
    wmeta, w = read(weights_path)
    cell = wmeta.get("mnet.cell")
    if cell not in ("gru", "lstm"):
        print("read_episodes: the network is not a GRU or an LSTM: the torch comparison is skipped")
        return
    L, H = int(wmeta["mnet.n_layers"]), int(wmeta["mnet.n_hidden"])
    x = torch.tensor(np.array(a["obs"]), dtype=torch.float64)  # (N, T, I)
    worst = 0.0
    for l in range(L):
        kind = torch.nn.GRU if cell == "gru" else torch.nn.LSTM
        net = kind(x.shape[2], H, 1, batch_first=True).double()
        sd = {k.replace("_l%d" % l, "_l0"): torch.tensor(np.array(v), dtype=torch.float64)
              for k, v in w.items() if k.endswith("_l%d" % l)}
        net.load_state_dict({k[len(cell) + 1:]: v for k, v in sd.items()})
        with torch.no_grad():
            x, _ = net(x)
        worst = max(worst, float(np.abs(x.numpy() - a["hidden.%d" % l]).max()))
    z = (x @ torch.tensor(np.array(w["fc.weight"]), dtype=torch.float64).T +
         torch.tensor(np.array(w["fc.bias"]), dtype=torch.float64))
    y = readout(wmeta, z.numpy())
    worst_y = float(np.abs(y - a["output"]).max())
    print(f"read_episodes: torch.nn.{cell.upper()} vs hidden.*: max |diff| {worst:.3g}; "
          f"read-out {worst_y:.3g}")
    assert worst < 1e-5 and worst_y < 1e-5, (worst, worst_y)


def main():
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("read_episodes: numpy is not installed: skipped")
        return 0
    # docs/episodes.md shows this reader as it is
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "episodes.md")
    if os.path.exists(doc):
        with open(doc) as f:
            assert inspect.getsource(read) in f.read(), "docs/episodes.md's reader is not read()"
    meta, a = read(sys.argv[1])
    n, N, T = check_shapes(meta, a)
    print(f"read_episodes: {n} tensors, {N} episodes of {T} steps, shapes as the header says")
    # a truncated copy is refused
    with open(sys.argv[1], "rb") as f:
        blob = f.read()
    cut = sys.argv[1] + ".cut"
    with open(cut, "wb") as f:
        f.write(blob[:-4])
    try:
        read(cut)
        raise AssertionError("a truncated file was read")
    except ValueError as e:
        print(f"read_episodes: truncated copy refused: {e}")
    finally:
        os.remove(cut)
    if len(sys.argv) > 2:
        check_gru_numpy(a, sys.argv[2])
        check_torch(meta, a, sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""mnet from Python: ctypes over libmnet.so, numpy only.

    import mnet
    eff = mnet.compile("examples/reach_point_mass.mnet")     # an Effector
    x1 = eff.step(x0, a)                 # (batch, S) from (batch, S), (batch, M)
    env = mnet.Env(eff, batch_size=8)    # the file's task, gymnasium's interface
    run = mnet.load_run("run_dir")       # run text, weights, log, episodes
    policy = run.policy()

Arrays are batch-major, (batch, rows), as numpy and PyTorch hold them; the
library's (rows, batch) layout is a transpose away.  The effector's
functions are double precision; environments and policies are float32 (the
runtime `mnet train` and `mnet eval` run).  Errors are exceptions:
MnetError from the library, ValueError for arrays of the wrong shape.
"""
import ctypes
import os

import numpy as np

from ._lib import ABI, ErrBuf, MnetError, check, lib, text
from .spaces import Box, make_box

__all__ = ["ABI", "MnetError", "Effector", "Env", "Run", "Policy", "Trainer", "Box", "compile", "load_run",
           "read_safetensors", "version"]

_SIZES = ["n_dof", "space_dim", "n_muscles", "n_muscle_rows", "n_state", "n_sense", "n_load", "n_params",
          "n_loss", "n_points", "n_ministeps"]
_NAMES = ["state", "muscle", "muscle_row", "param", "loss", "point"]


def version():
    return text(lib().mn_version())


def _dptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_double))


def _fptr(a):
    return a.ctypes.data_as(ctypes.POINTER(ctypes.c_float))


def _cols(x, rows, name, dtype=np.float64, batch=None):
    """x (batch, rows) -> a C-contiguous (rows, batch) copy; checks shapes."""
    x = np.asarray(x, dtype=dtype)
    if x.ndim == 1 and batch in (None, 1) and x.shape[0] == rows:
        x = x[None, :]
    if x.ndim != 2 or x.shape[1] != rows or x.shape[0] < 1 or (batch is not None and x.shape[0] != batch):
        want = "(%s, %d)" % ("batch" if batch is None else batch, rows)
        raise ValueError("%s has shape %s, expected %s" % (name, x.shape, want))
    if not np.all(np.isfinite(x)) and dtype == np.float64:
        pass  # non-finite values are the caller's business (NaN propagates)
    return np.ascontiguousarray(x.T)


class _Handle:
    """A handle of the library: `handle` is refused once closed; close()
    (and garbage collection) releases it once, through _release."""

    _h = None
    _what = "handle"

    @property
    def handle(self):
        if not self._h:
            raise MnetError(-1, "the %s is closed" % self._what)
        return self._h

    def _release(self, h):
        raise NotImplementedError

    def close(self):
        if self._h:
            self._release(self._h)
        self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Effector(_Handle):
    """A compiled effector (mn_effector): sizes, names, parameters and
    batched model functions in double precision."""

    def __init__(self, handle, owner=None):
        self._h = handle
        self._owner = owner  # a Run owns its effector
        L = lib()
        for i, name in enumerate(_SIZES):
            setattr(self, name, L.mn_effector_size(handle, i))
        self.step_size = L.mn_effector_step_size(handle)
        self.name = text(L.mn_effector_name(handle))
        self.task = text(L.mn_effector_task(handle))
        self.diagnostics = text(L.mn_effector_diagnostics(handle))
        counts = [self.n_state, self.n_muscles, self.n_muscle_rows, self.n_params, self.n_loss, self.n_points]
        self.names = {k: [text(L.mn_effector_names(handle, i, j)) for j in range(n)]
                      for i, (k, n) in enumerate(zip(_NAMES, counts))}

    _what = "effector"

    def _release(self, h):
        if self._owner is None:  # a Run's effector goes with the run
            lib().mn_effector_free(h)

    @property
    def run_text(self):
        return text(lib().mn_effector_run_text(self.handle))

    def param(self, name):
        i = self._param_index(name)
        v, err = ctypes.c_double(), ErrBuf(1024)
        check(lib().mn_effector_get_param(self.handle, i, ctypes.byref(v), err.buf, err.size), err)
        return v.value

    def set_param(self, name, value):
        i = self._param_index(name)
        err = ErrBuf(1024)
        check(lib().mn_effector_set_param(self.handle, i, float(value), err.buf, err.size), err)

    def _param_index(self, name):
        i = lib().mn_effector_param_index(self.handle, str(name).encode())
        if i < 0:
            raise KeyError("effector %s has no parameter %r" % (self.name, name))
        return i

    @property
    def joint_range(self):
        lo, hi, err = np.zeros(self.n_dof), np.zeros(self.n_dof), ErrBuf(1024)
        check(lib().mn_effector_joint_range(self.handle, _dptr(lo), _dptr(hi), err.buf, err.size), err)
        return lo, hi

    def _call(self, fn, ins, outs, batch):
        err = ErrBuf(1024)
        args = [_dptr(a) if a is not None else None for a in ins + outs]
        check(fn(self.handle, batch, *args, err.buf, err.size), err)
        return [a.T.copy() if a is not None else None for a in outs]

    def init(self, joint0):
        """state (batch, S) from the joint state (batch, 2D): q, then qd."""
        j = _cols(joint0, 2 * self.n_dof, "joint0")
        out = np.empty((self.n_state, j.shape[1]))
        return self._call(lib().mn_effector_init, [j], [out], j.shape[1])[0]

    def init_vjp(self, joint0, g_state):
        j = _cols(joint0, 2 * self.n_dof, "joint0")
        g = _cols(g_state, self.n_state, "g_state", batch=j.shape[1])
        out = np.empty((2 * self.n_dof, j.shape[1]))
        return self._call(lib().mn_effector_init_vjp, [j, g], [out], j.shape[1])[0]

    def _sal(self, state, action, load):
        s = _cols(state, self.n_state, "state")
        B = s.shape[1]
        a = _cols(action, self.n_muscles, "action", batch=B)
        ld = None if load is None else _cols(load, self.n_load, "load", batch=B)
        return s, a, ld, B

    def step(self, state, action, load=None):
        """next state (batch, S) = step(state (batch, S), action (batch, M),
        load (batch, NL) or None)."""
        s, a, ld, B = self._sal(state, action, load)
        out = np.empty((self.n_state, B))
        return self._call(lib().mn_effector_step, [s, a, ld], [out], B)[0]

    def step_vjp(self, state, action, load, g_next):
        """(g_state, g_action, g_load) given g_next (batch, S)."""
        s, a, ld, B = self._sal(state, action, load)
        g = _cols(g_next, self.n_state, "g_next", batch=B)
        outs = [np.empty((self.n_state, B)), np.empty((self.n_muscles, B)), np.empty((self.n_load, B))]
        return tuple(self._call(lib().mn_effector_step_vjp, [s, a, ld, g], outs, B))

    def sense(self, state):
        s = _cols(state, self.n_state, "state")
        out = np.empty((self.n_sense, s.shape[1]))
        return self._call(lib().mn_effector_sense, [s], [out], s.shape[1])[0]

    def sense_vjp(self, state, g_sense):
        s = _cols(state, self.n_state, "state")
        g = _cols(g_sense, self.n_sense, "g_sense", batch=s.shape[1])
        out = np.empty((self.n_state, s.shape[1]))
        return self._call(lib().mn_effector_sense_vjp, [s, g], [out], s.shape[1])[0]

    def points(self, state):
        """(batch, K, P): the body's drawing points."""
        s = _cols(state, self.n_state, "state")
        out = np.empty((self.n_points * self.space_dim, s.shape[1]))
        p = self._call(lib().mn_effector_points, [s], [out], s.shape[1])[0]
        return p.reshape(s.shape[1], self.n_points, self.space_dim)


def compile(path=None, text_=None, task=None, effector=None, text=None):
    """Compiles a .mnet file (path) or text; MnetError with the compiler's
    diagnostics when it does not compile."""
    src = text if text is not None else text_
    if path is None and src is None:
        raise ValueError("mnet.compile needs a path or text")

    class _Opts(ctypes.Structure):
        _fields_ = [("path", ctypes.c_char_p), ("text", ctypes.c_char_p), ("task", ctypes.c_char_p),
                    ("effector", ctypes.c_char_p)]

    enc = lambda s: None if s is None else str(s).encode()  # noqa: E731
    o = _Opts(enc(path if path is not None else "<text>"), enc(src), enc(task), enc(effector))
    err = ErrBuf()
    h = lib().mn_compile(ctypes.byref(o), err.buf, err.size)
    if not h:
        raise MnetError(-2, err.text)
    return Effector(h)


try:  # gymnasium's Env when it is there; the interface is the same without it
    import gymnasium as _gym
    _EnvBase = _gym.Env
except Exception:  # pragma: no cover - depends on the machine
    _gym = None
    _EnvBase = object


class Env(_Handle, _EnvBase):
    """A task over an effector, batch_size episodes side by side, with
    gymnasium's interface.  source: an Effector or a Run (its task and
    parameter values); run_text: another run text (settings, parameters).

    reset(seed=None, options=None) -> obs (batch, I) float32, info
        options: {"validation": True} the task's validation set (no noise),
                 {"noise": False} drawn episodes without noise
        seed None: the run text's train.seed the first time, then the next
    step(action (batch, M)) -> obs, reward (batch,), terminated, truncated,
        info {"terms": {name: (batch,) unweighted per-step values}, "t": step}
    """

    metadata = {"render_modes": []}

    def __init__(self, source, run_text=None, batch_size=1):
        if isinstance(source, Run):
            self._keep = source
            eff = source.effector
            if run_text is None:
                run_text = source.run_text
        elif isinstance(source, Effector):
            self._keep = source
            eff = source
        else:
            raise TypeError("mnet.Env takes an Effector or a Run, not %s" % type(source).__name__)
        if int(batch_size) < 1:
            raise ValueError("batch_size must be at least 1, not %r" % (batch_size,))
        err = ErrBuf()
        h = lib().mn_env_new(eff.handle, None if run_text is None else run_text.encode(), int(batch_size),
                             err.buf, err.size)
        if not h:
            raise MnetError(-1, err.text)
        self._h = h
        L = lib()
        self.batch_size, self.n_steps, self.n_obs, self.n_actions, self.n_state, self.space_dim, nl = (
            L.mn_env_size(h, i) for i in range(7))
        self.loss_names = [text(L.mn_env_loss_name(h, k)) for k in range(nl)]
        self.loss_weights = [L.mn_env_loss_weight(h, k) for k in range(nl)]
        self.run_text = text(L.mn_env_run_text(h))
        self.effector = eff
        self.observation_space = make_box(-np.inf, np.inf, (self.n_obs,), np.float32)
        self.action_space = make_box(0.0, 1.0, (self.n_actions,), np.float32)
        self._seed = None
        self.noise = True
        self.t = -1

    _what = "environment"

    def _release(self, h):
        lib().mn_env_free(h)

    def _run_seed(self):
        for line in self.run_text.splitlines():
            if line.startswith("train.seed="):
                return int(float(line.split("=", 1)[1]))
        return 1

    def reset(self, seed=None, options=None):
        options = dict(options or {})
        if seed is None:
            seed = self._run_seed() if self._seed is None else self._seed + 1
        seed = int(seed)
        if seed < 0:
            raise ValueError("seed must be >= 0, not %d" % seed)
        flags = (1 if options.pop("validation", False) else 0) | (0 if options.pop("noise", True) else 2)
        if options:
            raise ValueError("unknown reset options: %s" % ", ".join(sorted(options)))
        obs, err = np.empty((self.n_obs, self.batch_size), np.float32), ErrBuf(4096)
        check(lib().mn_env_reset(self.handle, seed, flags, _fptr(obs), err.buf, err.size), err)
        self._seed, self.t = seed, 0
        self.noise = flags == 0
        return obs.T.copy(), {"seed": seed, "t": 0}

    def step(self, action):
        a = _cols(action, self.n_actions, "action", np.float32, batch=self.batch_size)
        B, nl = self.batch_size, len(self.loss_names)
        obs, reward = np.empty((self.n_obs, B), np.float32), np.empty(B)
        terms, done, err = np.empty((max(nl, 1), B)), ctypes.c_int(0), ErrBuf(4096)
        check(lib().mn_env_step(self.handle, _fptr(a), _fptr(obs), _dptr(reward), _dptr(terms), ctypes.byref(done),
                                err.buf, err.size), err)
        self.t += 1
        info = {"t": self.t, "terms": {n: terms[k].copy() for k, n in enumerate(self.loss_names)}}
        return obs.T.copy(), reward, bool(done.value), False, info

    def get(self, what):
        """The arrays of the episodes now, batch-major: 'state' (S), 'action'
        (the last applied, noise included, M), 'load' (NL), 'target', 'goal',
        'start' (P)."""
        rows = {"state": self.n_state, "action": self.n_actions, "load": self.effector.n_load,
                "target": self.space_dim, "goal": self.space_dim, "start": self.space_dim}
        which = ["state", "action", "load", "target", "goal", "start"]
        if what not in rows:
            raise ValueError("Env.get takes one of %s, not %r" % (", ".join(which), what))
        out, err = np.empty((rows[what], self.batch_size), np.float32), ErrBuf(1024)
        check(lib().mn_env_get(self.handle, which.index(what), _fptr(out), err.buf, err.size), err)
        return out.T.copy()

    def render(self):
        return None


class Policy(_Handle):
    """A trained run's network, one observation at a time (float32)."""

    def __init__(self, run):
        err = ErrBuf(1024)
        h = lib().mn_policy_new(run.handle, err.buf, err.size)
        if not h:
            raise MnetError(-1, err.text)
        self._h, self._run, self.n = h, run, None
        self.n_inputs, self.n_outputs = run.net["inputs"], run.net["outputs"]

    _what = "policy"

    def _release(self, h):
        lib().mn_policy_free(h)

    def reset(self, env):
        """Starts env's episodes (env just reset): state zero, env's noise."""
        if not isinstance(env, Env):
            raise TypeError("Policy.reset takes an mnet.Env")
        err = ErrBuf(1024)
        check(lib().mn_policy_reset(self.handle, env.handle, err.buf, err.size), err)
        self.n = env.batch_size

    def __call__(self, obs):
        if self.n is None:
            raise MnetError(-6, "reset the policy with an environment first")
        x = _cols(obs, self.n_inputs, "obs", np.float32, batch=self.n)
        y, err = np.empty((self.n_outputs, self.n), np.float32), ErrBuf(1024)
        check(lib().mn_policy_act(self.handle, _fptr(x), _fptr(y), err.buf, err.size), err)
        return y.T.copy()

    act = __call__



def read_safetensors(path):
    """(tensors, metadata) of a safetensors file, every tensor a numpy array
    in its stored dtype and shape."""
    import json
    dtypes = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I32": "<i4", "I64": "<i8", "U8": "u1", "I8": "i1"}
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError("%s: not a safetensors file (%d bytes)" % (path, len(data)))
    n = int.from_bytes(data[:8], "little")
    if n > len(data) - 8:
        raise ValueError("%s: header of %d bytes in a file of %d" % (path, n, len(data)))
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = memoryview(data)[8 + n:]
    out = {}
    for name, info in header.items():
        a, b = info["data_offsets"]
        if info["dtype"] not in dtypes or b > len(body) or a > b:
            raise ValueError("%s: tensor %s: bad dtype or offsets" % (path, name))
        out[name] = np.frombuffer(body[a:b], dtype=dtypes[info["dtype"]]).reshape(info["shape"]).copy()
    return out, meta


class Run(_Handle):
    """A trained run directory (mn_run): run_text, net (sizes), weights (the
    network's flat parameters, float32), batches; the files beside the
    checkpoint as numpy: weights.safetensors (tensors), log.csv (log, a
    structured array), episodes.safetensors (episodes and episodes_meta;
    None when absent)."""

    def __init__(self, directory):
        self.directory = str(directory)
        err = ErrBuf()
        h = lib().mn_run_open(self.directory.encode(), err.buf, err.size)
        if not h:
            raise MnetError(-3, err.text)
        self._h = h
        L = lib()
        self.run_text = text(L.mn_run_text(h))
        self.batches = L.mn_run_batches(h)
        keys = ["inputs", "hidden", "layers", "outputs", "cell", "n_weights"]
        self.net = {k: L.mn_run_net(h, i) for i, k in enumerate(keys)}
        self.net["cell"] = ["gru", "rnn", "mlp", "lstm"][self.net["cell"]]  # mnet_nn_cell order
        self.weights = np.empty(self.net["n_weights"], np.float32)
        e = ErrBuf(1024)
        check(L.mn_run_weights(h, _fptr(self.weights), self.weights.size, e.buf, e.size), e)
        self.effector = Effector(L.mn_run_effector(h), owner=self)
        d = self.directory
        self.tensors = read_safetensors(os.path.join(d, "weights.safetensors"))[0] \
            if os.path.exists(os.path.join(d, "weights.safetensors")) else None
        self.log = np.genfromtxt(os.path.join(d, "log.csv"), delimiter=",", names=True) \
            if os.path.exists(os.path.join(d, "log.csv")) else None
        ep = os.path.join(d, "episodes.safetensors")
        self.episodes, self.episodes_meta = read_safetensors(ep) if os.path.exists(ep) else (None, None)

    _what = "run"

    def _release(self, h):
        self.effector._h = None  # the run owns its effector
        lib().mn_run_free(h)

    def policy(self):
        return Policy(self)

    def env(self, batch_size=1, run_text=None):
        return Env(self, run_text, batch_size)



def load_run(directory):
    """Opens a trained run directory (mnet train --out DIR)."""
    return Run(directory)


class Trainer(_Handle):
    """Training through the one loop: Trainer(effector, run_text=None,
    out=None) starts a run (written to out as `mnet train` writes it);
    Trainer.resume(out) continues one.  train(end=None) trains to batch end
    (None: the run's train.batches); stop() asks it to stop after the batch
    in progress (from another thread)."""

    def __init__(self, effector=None, run_text=None, out=None, _handle=None):
        err = ErrBuf()
        if _handle is None:
            if not isinstance(effector, Effector):
                raise TypeError("mnet.Trainer takes an Effector")
            self._keep = effector
            _handle = lib().mn_trainer_new(effector.handle, None if run_text is None else run_text.encode(),
                                           None if out is None else str(out).encode(), err.buf, err.size)
            if not _handle:
                raise MnetError(-4, err.text)
        self._h = _handle

    @classmethod
    def resume(cls, out):
        err = ErrBuf()
        h = lib().mn_trainer_resume(str(out).encode(), err.buf, err.size)
        if not h:
            raise MnetError(-3, err.text)
        return cls(_handle=h)

    _what = "trainer"

    def _release(self, h):
        lib().mn_trainer_free(h)

    def train(self, end=None):
        err = ErrBuf()
        check(lib().mn_trainer_train(self.handle, 0 if end is None else int(end), err.buf, err.size), err)
        return self.batches

    def stop(self):
        lib().mn_trainer_stop(self.handle)

    @property
    def batches(self):
        return lib().mn_trainer_batches(self.handle)

    @property
    def loss(self):
        return lib().mn_trainer_loss(self.handle)

    @property
    def run_text(self):
        return text(lib().mn_trainer_run_text(self.handle))


"""_lib.py - libmnet.so through ctypes: finding the library, the function
signatures of mnet.h, and errors turned into exceptions."""
import ctypes
import glob
import os

ABI = 1  # mnet.h's MN_ABI this package was written for

_c_int, _c_long, _c_double, _c_size = ctypes.c_int, ctypes.c_long, ctypes.c_double, ctypes.c_size_t
_p, _s = ctypes.c_void_p, ctypes.c_char_p
_dp = ctypes.POINTER(ctypes.c_double)
_fp = ctypes.POINTER(ctypes.c_float)
_ip = ctypes.POINTER(ctypes.c_int)

STATUS = {0: "MN_OK", -1: "MN_EINVAL", -2: "MN_ECOMPILE", -3: "MN_EIO", -4: "MN_ERUN", -5: "MN_ENOMEM",
          -6: "MN_ESTATE"}


class MnetError(Exception):
    """An error reported by libmnet: .code is the mn_status (negative),
    .name its name, the message the library's."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.name = STATUS.get(code, str(code))


def _find():
    env = os.environ.get("MNET_LIB")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for cand in [os.path.join(root, "build", "api", "libmnet.so")] + sorted(
            glob.glob(os.path.join(root, "build*", "api", "libmnet.so")), key=os.path.getmtime, reverse=True):
        if os.path.exists(cand):
            return cand
    raise OSError("libmnet.so not found: build it (./build.sh) or set MNET_LIB to its path")


# name: (restype, argtypes)
_SIGS = {
    "mn_abi": (_c_int, []),
    "mn_version": (_s, []),
    "mn_compile": (_p, [_p, _s, _c_size]),
    "mn_effector_free": (None, [_p]),
    "mn_effector_diagnostics": (_s, [_p]),
    "mn_effector_name": (_s, [_p]),
    "mn_effector_task": (_s, [_p]),
    "mn_effector_run_text": (_s, [_p]),
    "mn_effector_size": (_c_int, [_p, _c_int]),
    "mn_effector_step_size": (_c_double, [_p]),
    "mn_effector_names": (_s, [_p, _c_int, _c_int]),
    "mn_effector_param_index": (_c_int, [_p, _s]),
    "mn_effector_get_param": (_c_int, [_p, _c_int, _dp, _s, _c_size]),
    "mn_effector_set_param": (_c_int, [_p, _c_int, _c_double, _s, _c_size]),
    "mn_effector_joint_range": (_c_int, [_p, _dp, _dp, _s, _c_size]),
    "mn_effector_init": (_c_int, [_p, _c_int, _dp, _dp, _s, _c_size]),
    "mn_effector_init_vjp": (_c_int, [_p, _c_int, _dp, _dp, _dp, _s, _c_size]),
    "mn_effector_step": (_c_int, [_p, _c_int, _dp, _dp, _dp, _dp, _s, _c_size]),
    "mn_effector_step_vjp": (_c_int, [_p, _c_int, _dp, _dp, _dp, _dp, _dp, _dp, _dp, _s, _c_size]),
    "mn_effector_sense": (_c_int, [_p, _c_int, _dp, _dp, _s, _c_size]),
    "mn_effector_sense_vjp": (_c_int, [_p, _c_int, _dp, _dp, _dp, _s, _c_size]),
    "mn_effector_points": (_c_int, [_p, _c_int, _dp, _dp, _s, _c_size]),
    "mn_env_new": (_p, [_p, _s, _c_int, _s, _c_size]),
    "mn_env_free": (None, [_p]),
    "mn_env_size": (_c_int, [_p, _c_int]),
    "mn_env_loss_name": (_s, [_p, _c_int]),
    "mn_env_loss_weight": (_c_double, [_p, _c_int]),
    "mn_env_run_text": (_s, [_p]),
    "mn_env_reset": (_c_int, [_p, ctypes.c_uint64, _c_int, _fp, _s, _c_size]),
    "mn_env_step": (_c_int, [_p, _fp, _fp, _dp, _dp, _ip, _s, _c_size]),
    "mn_env_get": (_c_int, [_p, _c_int, _fp, _s, _c_size]),
    "mn_run_open": (_p, [_s, _s, _c_size]),
    "mn_run_free": (None, [_p]),
    "mn_run_text": (_s, [_p]),
    "mn_run_effector": (_p, [_p]),
    "mn_run_batches": (_c_long, [_p]),
    "mn_run_net": (_c_long, [_p, _c_int]),
    "mn_run_weights": (_c_int, [_p, _fp, _c_size, _s, _c_size]),
    "mn_policy_new": (_p, [_p, _s, _c_size]),
    "mn_policy_free": (None, [_p]),
    "mn_policy_reset": (_c_int, [_p, _p, _s, _c_size]),
    "mn_policy_act": (_c_int, [_p, _fp, _fp, _s, _c_size]),
    "mn_trainer_new": (_p, [_p, _s, _s, _s, _c_size]),
    "mn_trainer_resume": (_p, [_s, _s, _c_size]),
    "mn_trainer_free": (None, [_p]),
    "mn_trainer_train": (_c_int, [_p, _c_long, _s, _c_size]),
    "mn_trainer_stop": (None, [_p]),
    "mn_trainer_batches": (_c_long, [_p]),
    "mn_trainer_loss": (_c_double, [_p]),
    "mn_trainer_run_text": (_s, [_p]),
}

_lib = None


def lib():
    """The loaded library (loaded on first use; its ABI checked)."""
    global _lib
    if _lib is None:
        h = ctypes.CDLL(_find())
        for name, (res, args) in _SIGS.items():
            f = getattr(h, name)
            f.restype = res
            f.argtypes = args
        if h.mn_abi() != ABI:
            raise OSError("libmnet has ABI %d, this package expects %d" % (h.mn_abi(), ABI))
        _lib = h
    return _lib


class ErrBuf:
    """A message buffer for one call: ErrBuf().args -> (buf, len)."""

    def __init__(self, size=1 << 16):
        self.buf = ctypes.create_string_buffer(size)
        self.size = size

    @property
    def text(self):
        return self.buf.value.decode("utf-8", "replace")


def check(rc, err):
    if rc != 0:
        raise MnetError(rc, err.text)


def text(b):
    return b.decode("utf-8", "replace") if b is not None else None

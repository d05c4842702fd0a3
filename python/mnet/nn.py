"""nn.py - an mnet effector as a PyTorch operation (needs torch; import it
as `from mnet.nn import EffectorStep, Effector`).

EffectorStep.apply(state, action, load, effector) is the compiled step:
forward runs mn_effector_step, backward its VJP (mn_effector_step_vjp), in
double precision whatever the tensors' dtype (the result comes back in the
input's dtype and device).  Effector wraps it as an nn.Module, so any
PyTorch network can be trained through an mnet effector:

    plant = mnet.nn.Effector(mnet.compile("arm.mnet"))
    state = plant.init(joint0)                  # (batch, S)
    for t in range(T):
        action = policy(obs)                    # (batch, M), requires grad
        state = plant(state, action)            # differentiable
"""
import numpy as np
import torch

from . import Effector as _Effector


def _np(x):
    return None if x is None else x.detach().to("cpu", torch.float64).numpy()


def _back(a, like):
    return torch.from_numpy(np.ascontiguousarray(a)).to(dtype=like.dtype, device=like.device)


class EffectorStep(torch.autograd.Function):
    """next = step(state (batch, S), action (batch, M), load (batch, NL) or
    None); gradients for state, action and load."""

    @staticmethod
    def forward(ctx, state, action, load, effector):
        ctx.effector = effector
        ctx.has_load = load is not None
        ctx.save_for_backward(state, action, load if load is not None else state.new_zeros(0))
        return _back(effector.step(_np(state), _np(action), _np(load)), state)

    @staticmethod
    def backward(ctx, g_next):
        state, action, load = ctx.saved_tensors
        gs, ga, gl = ctx.effector.step_vjp(_np(state), _np(action), _np(load) if ctx.has_load else None,
                                           _np(g_next))
        return (_back(gs, state) if ctx.needs_input_grad[0] else None,
                _back(ga, action) if ctx.needs_input_grad[1] else None,
                _back(gl, load) if ctx.has_load and ctx.needs_input_grad[2] else None,
                None)


class EffectorInit(torch.autograd.Function):
    """state (batch, S) = init(joint0 (batch, 2D)), with its VJP."""

    @staticmethod
    def forward(ctx, joint0, effector):
        ctx.effector = effector
        ctx.save_for_backward(joint0)
        return _back(effector.init(_np(joint0)), joint0)

    @staticmethod
    def backward(ctx, g_state):
        (joint0,) = ctx.saved_tensors
        return _back(ctx.effector.init_vjp(_np(joint0), _np(g_state)), joint0), None


class EffectorSense(torch.autograd.Function):
    """sense (batch, NS) = sense(state (batch, S)), with its VJP."""

    @staticmethod
    def forward(ctx, state, effector):
        ctx.effector = effector
        ctx.save_for_backward(state)
        return _back(effector.sense(_np(state)), state)

    @staticmethod
    def backward(ctx, g_sense):
        (state,) = ctx.saved_tensors
        return _back(ctx.effector.sense_vjp(_np(state), _np(g_sense)), state), None


class Effector(torch.nn.Module):
    """An mnet effector as a module: forward(state, action, load=None) is one
    step; init(joint0) and sense(state) are differentiable too."""

    def __init__(self, effector):
        super().__init__()
        if not isinstance(effector, _Effector):
            raise TypeError("mnet.nn.Effector takes an mnet.Effector (mnet.compile(...))")
        self.effector = effector

    def forward(self, state, action, load=None):
        return EffectorStep.apply(state, action, load, self.effector)

    def init(self, joint0):
        return EffectorInit.apply(joint0, self.effector)

    def sense(self, state):
        return EffectorSense.apply(state, self.effector)

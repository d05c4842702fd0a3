#!/usr/bin/python3
"""bench/peer.py - the PyTorch peer of mnet's trainer (the benchmark's baseline).

A MotorNet-style implementation, written from /work/shared/reference/MODELS.md,
of the three benchmark configurations.  It has MotorNet's structure and cost
profile: batched float32 tensors, effector states kept as (batch, rows,
muscles) tensors, one autograd graph through the whole episode (BPTT through
the effector and the sensory feedback), nn.GRU called once per step,
torch.set_num_threads(N) (and OPENBLAS_NUM_THREADS=N, see below).

    /usr/bin/python3 bench/peer.py CONFIG --batches N [--seed S] [--warmup W] [--threads N]
                                   [--batch B] [--steps T]
    -> peer CONFIG ms_per_batch=X loss_first=... loss_last=... threads=N ...

CONFIG is one of
    pm     ReluPointMass24 (4 relu muscles, paths, 1 kg), Euler 10 ms,
           GRU 32, batch 32, 1 s (100 steps)
    arm26  RigidTendonArm26 (rigid-tendon Hill, lumped geometry), Euler 10 ms,
           GRU 128, batch 64, 1 s (100 steps)
    ct26   CompliantTendonArm26 (compliant-tendon Hill), MotorNet RK4 0.2 ms,
           GRU 128, batch 64, 0.1 s (500 steps)

Task: RandomTargetReach (start and goal are end points of joint states drawn
uniformly in range, zero velocity); observation [goal, vision, proprioception
(length / l_o, velocity / vmax), last action]; one-step delays (= no delay,
MODELS.md 8); no noise.  Policy: nn.GRU + sigmoid(Linear) read-out (bias -5);
loss: mean over batch and time (initial state included) of sum |xy - goal|;
Adam lr 1e-3, gradient-norm clipping at 1.

The effector classes are also used in float64 by bench/check_peer.py, which
replays the golden trajectories through them.

Only the training loop is timed, after --warmup (default 2) batches; the
warm-up batches are ordinary training batches.  loss_first is the loss of the
very first batch, loss_last that of the last one, loss_last100 the mean of
the last 100 (as mnet's `done` line).  ms_per_batch is wall-clock
time; cpu_ms_per_batch, the process's CPU time (all its threads), is the
steadier figure on a loaded machine.

Threads (--threads N, default 1): torch.set_num_threads(N), called before
any tensor work (torch's docs: it must precede eager, JIT or autograd
code), sets the intra-op pool (OpenMP, MKL).  Debian's torch does its
matrix products in the system OpenBLAS (pthreads build), which it does not
tell, so OPENBLAS_NUM_THREADS (and OMP_, MKL_) is set to N here before torch
is imported: OpenBLAS reads it when it is loaded.  A value already in the
environment is kept when --threads is not given (check_peer.py, which
imports this module, gets the old default of 1).  The peer line reports
torch.get_num_threads() as threads=; the start of torch's parallel_info()
goes to stderr for the record.
"""
import argparse
import math
import os
import sys
import time


def threads_from_argv(argv):
    """N of --threads N (or --threads=N) in argv, else None.  Read before
    torch is imported: the thread counts of the BLAS must be in the
    environment by then; argparse checks the value again in main()."""
    for i, a in enumerate(argv):
        v = None
        if a == "--threads" and i + 1 < len(argv):
            v = argv[i + 1]
        elif a.startswith("--threads="):
            v = a.split("=", 1)[1]
        if v is not None:
            try:
                return int(v) if int(v) >= 1 else None
            except ValueError:
                return None
    return None


# Debian's torch does its GEMMs in the system OpenBLAS (pthreads build), whose
# threads torch.set_num_threads does not control: set them before the import
# (--threads N: N; else what the environment says, 1 by default).
_THREADS = threads_from_argv(sys.argv[1:]) if __name__ == "__main__" else None
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    if _THREADS is not None:
        os.environ[_var] = str(_THREADS)
    else:
        os.environ.setdefault(_var, "1")

import torch  # noqa: E402
import torch.nn as nn

# ---------------------------------------------------------------------------
# activation dynamics (MODELS.md 2)


def activation_rate(u, a, a_min, tau_act, tau_deact):
    """da/dt of activation a (B, M) under excitation u (B, M)."""
    u = u.clamp(a_min, 1.0)
    a = a.clamp(a_min, 1.0)
    tau = torch.where(u > a, tau_act * (0.5 + 1.5 * a), tau_deact / (0.5 + 1.5 * a))
    return (u - a) / tau


def _row(x, like):
    """A per-muscle parameter list as a (1, M) tensor of like's dtype."""
    return torch.tensor([x], dtype=like)


# ---------------------------------------------------------------------------
# muscle models (MODELS.md 3).  Muscle state: (B, rows, M); geometry:
# (B, 2 + dof, M) = l_mt, v_mt, moment arms; derivative: (B, n_der, M).


class ReluMuscle:
    """3.1: force = activation * F_max."""
    n_rows = 4

    def __init__(self, fmax, dtype):
        self.fmax = _row(fmax, dtype)
        self.a_min, self.tau_act, self.tau_deact = 0.0, 0.015, 0.05
        self.l_o = torch.ones_like(self.fmax)     # for proprioception
        self.vmax = torch.ones_like(self.fmax)

    def ode(self, u, ms):
        return activation_rate(u, ms[:, 0], self.a_min, self.tau_act, self.tau_deact)[:, None]

    def integrate(self, dt, d, ms, geom):
        a = (ms[:, 0] + dt * d[:, 0]).clamp(self.a_min, 1.0)
        return torch.stack([a, geom[:, 0], geom[:, 1], a * self.fmax], dim=1)

    def initial(self, geom, step):
        a = torch.full_like(geom[:, 0], self.a_min)
        return torch.stack([a, geom[:, 0], geom[:, 1], torch.zeros_like(a)], dim=1)


class KistemakerMuscle:
    """What the Hill muscles of Kistemaker et al. 2010 (3.2, 3.5) share."""
    n_rows = 7
    s_as, f_iso_n_den, q_crit, min_flce = 0.001, 0.66 ** 2, 0.3, 0.01
    a_min = None                                   # set by each model

    def __init__(self, fmax, l_s, l_o, dtype, nu=1.4):
        self.fmax, self.l_s, self.l_o = _row(fmax, dtype), _row(l_s, dtype), _row(l_o, dtype)
        self.tau_act, self.tau_deact = 0.015, 0.05
        self.l_pe = nu * self.l_o
        self.k_pe = 1.0 / (1.66 - self.l_pe / self.l_o) ** 2
        self.vmax = 10.0 * self.l_o

    def flce(self, l_n):
        """Force-length relation of the contractile element."""
        return (1.0 + (-l_n ** 2 + 2.0 * l_n - 1.0) / self.f_iso_n_den).clamp_min(self.min_flce)

    def b_rel(self, a):
        q_crit = self.q_crit
        return torch.where(a < q_crit, 5.2 * (1.0 - 0.9 * (a - q_crit) / (0.005 - q_crit)) ** 2,
                           torch.full_like(a, 5.2))


class RigidHillMuscle(KistemakerMuscle):
    """3.2: Kistemaker, Wong & Gribble 2010, rigid tendon."""
    a_min = 0.001

    def ode(self, u, ms):
        return activation_rate(u, ms[:, 0], self.a_min, self.tau_act, self.tau_deact)[:, None]

    def integrate(self, dt, d, ms, geom):
        s_as = self.s_as
        a = (ms[:, 0] + dt * d[:, 0]).clamp(self.a_min, 1.0)
        l_mt, v_mt = geom[:, 0], geom[:, 1]
        l_m = (l_mt - self.l_s).clamp_min(0.0)
        l_n = l_m / self.l_o
        v_n = v_mt / self.vmax
        strain = ((l_m - self.l_pe) / self.l_o).clamp_min(0.0)
        flpe = self.k_pe * strain ** 2
        flce = self.flce(l_n)
        a_rel = torch.where(l_n > 1.0, 0.41 * flce, torch.full_like(flce, 0.41))
        b_rel = self.b_rel(a)
        dfdv0 = a * (flce + a_rel) / b_rel
        fxa = flce * a
        p1 = -(fxa / 2.0) / (s_as - 2.0 * dfdv0)
        p2 = (fxa / 2.0) ** 2 / (s_as - 2.0 * dfdv0)
        p3 = -1.5 * fxa
        short = v_n < 0
        nom = torch.where(short, v_n * a * a_rel + fxa * b_rel,
                          -p1 * p3 + p1 * s_as * v_n + p2 - p3 * v_n + s_as * v_n ** 2)
        den = torch.where(short, b_rel - v_n, p1 + v_n)
        active = (nom / den).clamp_min(0.0)
        force = (active + flpe) * self.fmax
        return torch.stack([a, l_m, v_mt, flpe, flce, active, force], dim=1)

    def initial(self, geom, step):
        ms = torch.zeros(geom.shape[0], self.n_rows, geom.shape[2], dtype=geom.dtype)
        ms[:, 0] = self.a_min
        return self.integrate(step, torch.zeros_like(ms[:, :1]), ms, geom)


class CompliantHillMuscle(KistemakerMuscle):
    """3.5: Kistemaker et al. 2010, compliant tendon; fibre length is a state."""
    a_min = 0.01
    k_se = 1.0 / 0.04 ** 2

    def fibre_velocity(self, l_n, a, f_a):
        s_as = self.s_as
        flce = self.flce(l_n)
        a_rel = torch.where(l_n < 1.0, 0.41 * flce, torch.full_like(flce, 0.41))  # quirk
        b_rel = self.b_rel(a)
        fxa = flce * a
        dfdv0 = (fxa + a * a_rel) / b_rel
        p1 = -(fxa / 2.0) / (s_as - 2.0 * dfdv0)
        p3 = -1.5 * fxa
        p2t = -4.0 * s_as * (fxa / 2.0) ** 2 / (s_as - 2.0 * dfdv0)
        S = (f_a ** 2 + 2.0 * f_a * p1 * s_as + 2.0 * f_a * p3 + p1 ** 2 * s_as ** 2
             + 2.0 * p1 * p3 * s_as + p2t + p3 ** 2).clamp_min(0.0)
        return torch.where(f_a < fxa, b_rel * (f_a - fxa) / (f_a + a * a_rel),
                           (-f_a + p1 * s_as - p3 - torch.sqrt(S)) / (-2.0 * s_as))

    def ode(self, u, ms):
        a = ms[:, 0]
        da = activation_rate(u, a, self.a_min, self.tau_act, self.tau_deact)
        dl = self.fibre_velocity(ms[:, 1] / self.l_o, a, ms[:, 5])
        return torch.stack([da, dl], dim=1)

    def integrate(self, dt, d, ms, geom):
        l_m = ms[:, 1]
        l_t = geom[:, 0] - l_m
        e_t = ((l_t - self.l_s) / self.l_s).clamp_min(0.0)
        e_m = ((l_m - self.l_pe) / self.l_o).clamp_min(0.0)
        flse = (self.k_se * e_t ** 2).clamp_max(1.0)
        flpe = self.k_pe * e_m ** 2
        active = (flse - flpe).clamp_min(0.0)
        a = (ms[:, 0] + dt * d[:, 0]).clamp(self.a_min, 1.0)
        l_m1 = (l_m / self.l_o + dt * d[:, 1]) * self.l_o
        v_m = d[:, 1] * self.vmax
        force = flse * self.fmax
        return torch.stack([a, l_m1, v_m, flpe, flse, active, force], dim=1)

    def initial(self, geom, step):
        l_mt, l_s, l_o, l_pe = geom[:, 0], self.l_s, self.l_o, self.l_pe
        k_pe, k_se = self.k_pe, self.k_se
        eq = ((k_pe * l_pe * l_s ** 2 - k_se * l_o ** 2 * l_mt + k_se * l_o ** 2 * l_s
               - l_o * l_s * torch.sqrt(k_pe * k_se) * (l_pe + l_s - l_mt))
              / (k_pe * l_s ** 2 - k_se * l_o ** 2))
        l_m = torch.where(l_mt < 0, -torch.ones_like(l_mt),
                          torch.where(l_mt < l_s, (0.001 * l_o).expand_as(l_mt),
                                      torch.where(l_mt < l_s + l_pe, l_mt - l_s, eq)))
        a = torch.full_like(l_m, self.a_min)
        e_t = ((l_mt - l_m - l_s) / l_s).clamp_min(0.0)
        e_m = ((l_m - l_pe) / l_o).clamp_min(0.0)
        flse = (k_se * e_t ** 2).clamp_max(1.0)
        flpe = (k_pe * e_m ** 2).clamp_max(1.0)        # capped here only
        active = (flse - flpe).clamp_min(0.0)
        dl = self.fibre_velocity(l_m / l_o, a, active)
        z = torch.zeros_like(l_m)
        ms = torch.stack([a, l_m, z, z, z, z, z], dim=1)
        return self.integrate(step, torch.stack([z, dl], dim=1), ms, geom)   # the full step


# ---------------------------------------------------------------------------
# skeletons (MODELS.md 4).  Joint state (B, 2 dof) = q, qd; cartesian
# (B, 2 space_dim) = end-point position, velocity.


def clip_joint(q, qd, lo, hi, vlo, vhi):
    """4.3, after every integration; q is the unclipped new position."""
    qd = qd.clamp(vlo, vhi)
    out = ((qd < 0) & (q <= lo)) | ((qd > 0) & (q >= hi))
    qd = torch.where(out, torch.zeros_like(qd), qd)
    return torch.cat([q.clamp(lo, hi), qd], dim=1)


class PointMass:
    """4.1: the division by the mass happens in the integrator (quirk)."""

    def __init__(self, dim, mass, dtype, lo=-1.0, hi=1.0):
        self.dof = self.space_dim = dim
        self.mass = mass
        self.lo = torch.full((dim,), lo, dtype=dtype)
        self.hi = torch.full((dim,), hi, dtype=dtype)
        self.vlo = torch.full((dim,), -1000.0, dtype=dtype)
        self.vhi = torch.full((dim,), 1000.0, dtype=dtype)

    def ode(self, gf, joint, endpoint_load):
        return gf + endpoint_load

    def integrate(self, dt, acc, joint):
        p, v = joint[:, :self.dof], joint[:, self.dof:]
        return clip_joint(p + dt * v, v + dt * acc / self.mass, self.lo, self.hi,
                          self.vlo, self.vhi)

    def cartesian(self, joint):
        return joint


class TwoLinkArm:
    """4.2, with the parameters of RigidTendonArm26 (MODELS.md 7)."""
    dof = space_dim = 2

    def __init__(self, dtype, m1=1.82, m2=1.43, l1g=0.135, l2g=0.165, i1=0.051, i2=0.057,
                 l1=0.309, l2=0.333, visc=0.0, lo=(0.0, 0.0), hi=(135.0, 155.0)):
        self.m1, self.m2, self.l1g, self.l2g = m1, m2, l1g, l2g
        self.i1, self.i2, self.l1, self.l2, self.visc = i1, i2, l1, l2, visc
        self.lo = torch.tensor([math.radians(x) for x in lo], dtype=dtype)
        self.hi = torch.tensor([math.radians(x) for x in hi], dtype=dtype)
        self.vlo = torch.full((2,), -1000.0, dtype=dtype)
        self.vhi = torch.full((2,), 1000.0, dtype=dtype)
        # constant parts of the mass matrix
        self.k11 = m1 * l1g ** 2 + i1 + m2 * (l2g ** 2 + l1 ** 2) + i2
        self.k22 = m2 * l2g ** 2 + i2
        self.kc = m2 * l1 * l2g

    def jacobian(self, q):
        q1, q12 = q[:, 0], q[:, 0] + q[:, 1]
        s1, c1, s12, c12 = torch.sin(q1), torch.cos(q1), torch.sin(q12), torch.cos(q12)
        return (-self.l1 * s1 - self.l2 * s12, -self.l2 * s12,
                self.l1 * c1 + self.l2 * c12, self.l2 * c12)

    def ode(self, gf, joint, endpoint_load):
        q, qd = joint[:, :2], joint[:, 2:]
        dq1, dq2 = qd[:, 0], qd[:, 1]
        c2, s2 = torch.cos(q[:, 1]), torch.sin(q[:, 1])
        m11 = self.k11 + 2.0 * self.kc * c2
        m12 = self.k22 + self.kc * c2
        m22 = self.k22
        b1 = -self.kc * s2 * (2.0 * dq1 + dq2) * dq2 + self.visc * dq1
        b2 = self.kc * s2 * dq1 ** 2 + self.visc * dq2
        j11, j12, j21, j22 = self.jacobian(q)
        fx, fy = endpoint_load[..., 0], endpoint_load[..., 1]
        t1 = gf[:, 0] + j11 * fx + j21 * fy - b1
        t2 = gf[:, 1] + j12 * fx + j22 * fy - b2
        det = m11 * m22 - m12 * m12
        return torch.stack([(m22 * t1 - m12 * t2) / det, (m11 * t2 - m12 * t1) / det], dim=1)

    def integrate(self, dt, qdd, joint):
        q, qd = joint[:, :2], joint[:, 2:]
        return clip_joint(q + dt * qd, qd + dt * qdd, self.lo, self.hi, self.vlo, self.vhi)

    def cartesian(self, joint):
        q, qd = joint[:, :2], joint[:, 2:]
        q1, q12 = q[:, 0], q[:, 0] + q[:, 1]
        x = self.l1 * torch.cos(q1) + self.l2 * torch.cos(q12)
        y = self.l1 * torch.sin(q1) + self.l2 * torch.sin(q12)
        j11, j12, j21, j22 = self.jacobian(q)
        vx = j11 * qd[:, 0] + j12 * qd[:, 1]
        vy = j21 * qd[:, 0] + j22 * qd[:, 1]
        return torch.stack([x, y, vx, vy], dim=1)


# ---------------------------------------------------------------------------
# muscle geometry (MODELS.md 5): joint (B, 2 dof) -> (B, 2 + dof, M)


class PointMassPaths:
    """5.1 for straight paths from world anchors to the point mass."""

    def __init__(self, anchors, dtype):
        self.anchors = torch.tensor(anchors, dtype=dtype).T[None]   # (1, dim, M)

    def __call__(self, joint):
        dim = self.anchors.shape[1]
        p, v = joint[:, :dim, None], joint[:, dim:, None]
        d = p - self.anchors                                        # (B, dim, M)
        l_mt = torch.sqrt((d ** 2).sum(dim=1, keepdim=True))
        r = d / l_mt                                                # dl/dq
        v_mt = (r * v).sum(dim=1, keepdim=True)
        return torch.cat([l_mt, v_mt, r], dim=1)


class LumpedGeometry:
    """5.2: polynomial lengths about q~ = q - (pi/2, 0)."""

    def __init__(self, a0, a1, a2, dtype):
        self.a0 = torch.tensor(a0, dtype=dtype)[None, None]        # (1, 1, M)
        self.a1 = torch.tensor(a1, dtype=dtype)[None]              # (1, dof, M)
        self.a2 = torch.tensor(a2, dtype=dtype)[None]
        self.offset = torch.tensor([math.pi / 2, 0.0], dtype=dtype)

    def __call__(self, joint):
        qt = (joint[:, :2] - self.offset)[:, :, None]               # (B, dof, 1)
        qd = joint[:, 2:, None]
        l_mt = self.a0 + ((self.a1 + self.a2 * qt) * qt).sum(dim=1, keepdim=True)
        r = self.a1 + 2.0 * self.a2 * qt
        v_mt = (r * qd).sum(dim=1, keepdim=True)
        return torch.cat([l_mt, v_mt, r], dim=1)


# ---------------------------------------------------------------------------
# effectors (MODELS.md 6, 7).  A state is a tuple (joint, cartesian, muscle,
# geometry).


class Effector:
    def __init__(self, skeleton, muscle, geometry, step, integrator, dtype):
        self.skeleton, self.muscle, self.geometry = skeleton, muscle, geometry
        self.step_size, self.integrator, self.dtype = step, integrator, dtype
        self.n_muscles = muscle.fmax.shape[1]
        self.endpoint_load = torch.zeros(skeleton.space_dim, dtype=dtype)
        self.joint_load = torch.zeros(skeleton.dof, dtype=dtype)
        self.damping = 0.0

    def initial_state(self, joint):
        geom = self.geometry(joint)
        return (joint, self.skeleton.cartesian(joint), self.muscle.initial(geom, self.step_size),
                geom)

    def ode(self, u, s):
        joint, _, ms, geom = s
        dof = self.skeleton.dof
        dm = self.muscle.ode(u, ms)
        gf = -(geom[:, 2:] * ms[:, -1:]).sum(dim=-1) + self.joint_load
        if self.damping:
            gf = gf - self.damping * joint[:, dof:]
        return dm, self.skeleton.ode(gf, joint, self.endpoint_load)

    def integrate(self, dt, k, s):
        joint, _, ms, geom = s
        ms1 = self.muscle.integrate(dt, k[0], ms, geom)      # old geometry (quirk)
        joint1 = self.skeleton.integrate(dt, k[1], joint)
        return (joint1, self.skeleton.cartesian(joint1), ms1, self.geometry(joint1))

    def step(self, action, s):
        u = action.clamp(self.muscle.a_min, 1.0)
        dt = self.step_size
        if self.integrator == "euler":
            return self.integrate(dt, self.ode(u, s), s)
        # MotorNet's RK4 with stage chaining
        k1 = self.ode(u, s)
        s1 = self.integrate(dt / 2, k1, s)
        k2 = self.ode(u, s1)
        s2 = self.integrate(dt / 2, k2, s1)
        k3 = self.ode(u, s2)
        s3 = self.integrate(dt, k3, s2)
        k4 = self.ode(u, s3)
        k = tuple((a + 2.0 * b + 2.0 * c + d) / 6.0 for a, b, c, d in zip(k1, k2, k3, k4))
        return self.integrate(dt, k, s)


ARM_MUSCLES = ["pectoralis", "deltoid", "brachioradialis", "tricepslat", "biceps", "tricepslong"]
ARM_FMAX = [838, 1207, 1422, 1549, 414, 603]
ARM_LO = [0.134, 0.140, 0.092, 0.093, 0.137, 0.127]
ARM_A1 = [[-0.03, 0.03, 0, 0, -0.03, 0.03], [0, 0, -0.014, 0.025, -0.016, 0.03]]
ARM_A2 = [[0, 0, 0, 0, 0, 0], [0, 0, -0.004, -0.0022, -0.0057, -0.0032]]


def relu_point_mass_24(dtype):
    return Effector(PointMass(2, 1.0, dtype), ReluMuscle([500.0] * 4, dtype),
                    PointMassPaths([[2, 2], [-2, 2], [2, -2], [-2, -2]], dtype),
                    0.01, "euler", dtype)


def rigid_tendon_arm_26(dtype):
    muscle = RigidHillMuscle(ARM_FMAX, [0.039, 0.066, 0.172, 0.187, 0.204, 0.217], ARM_LO, dtype)
    geom = LumpedGeometry([0.151, 0.2322, 0.2859, 0.2355, 0.3329, 0.2989], ARM_A1, ARM_A2, dtype)
    return Effector(TwoLinkArm(dtype), muscle, geom, 0.01, "euler", dtype)


def compliant_tendon_arm_26(dtype):
    muscle = CompliantHillMuscle(ARM_FMAX, [0.070, 0.070, 0.172, 0.187, 0.204, 0.217], ARM_LO,
                                 dtype)
    geom = LumpedGeometry([0.182, 0.2362, 0.2859, 0.2355, 0.3329, 0.2989], ARM_A1, ARM_A2, dtype)
    return Effector(TwoLinkArm(dtype), muscle, geom, 0.0002, "motornet_rk4", dtype)


# ---------------------------------------------------------------------------
# the task: RandomTargetReach (MODELS.md 8)


class RandomTargetReach:
    def __init__(self, effector, duration, vision_delay=None, proprio_delay=None, action_frames=1):
        self.eff = effector
        step = effector.step_size
        self.n_steps = int(round(duration / step))
        # delays in seconds; the default "one step" delay is no delay (quirk)
        self.d_vision = 1 if vision_delay is None else max(1, int(round(vision_delay / step)))
        self.d_proprio = 1 if proprio_delay is None else max(1, int(round(proprio_delay / step)))
        self.action_frames = action_frames

    def draw_joints(self, batch, gen):
        sk = self.eff.skeleton
        u = torch.rand(batch, sk.dof, generator=gen, dtype=self.eff.dtype)
        q = sk.lo + (sk.hi - sk.lo) * u
        return torch.cat([q, torch.zeros_like(q)], dim=1)

    def sense(self):
        _, cart, ms, _ = self.state
        m = self.eff.muscle
        vision = cart[:, :self.eff.skeleton.space_dim]
        proprio = torch.cat([ms[:, 1] / m.l_o, ms[:, 2] / m.vmax], dim=1)
        return vision, proprio

    def observe(self):
        vision, proprio = self.sense()
        self.vis_buf = self.vis_buf[1:] + [vision]
        self.prop_buf = self.prop_buf[1:] + [proprio]
        return torch.cat([self.goal, self.vis_buf[0], self.prop_buf[0]] + self.act_buf, dim=1)

    def reset(self, batch, gen):
        sk = self.eff.skeleton
        joint0 = self.draw_joints(batch, gen)
        self.goal = sk.cartesian(self.draw_joints(batch, gen))[:, :sk.space_dim]
        self.state = self.eff.initial_state(joint0)
        vision, proprio = self.sense()
        self.vis_buf = [vision] * self.d_vision
        self.prop_buf = [proprio] * self.d_proprio
        self.act_buf = [torch.zeros(batch, self.eff.n_muscles, dtype=self.eff.dtype)
                        for _ in range(self.action_frames)]
        return self.observe()

    def step(self, action):
        self.state = self.eff.step(action, self.state)
        if self.action_frames:
            self.act_buf = self.act_buf[1:] + [action]
        return self.observe()

    def n_obs(self):
        sk = self.eff.skeleton
        return 2 * sk.space_dim + 2 * self.eff.n_muscles + self.action_frames * self.eff.n_muscles


# ---------------------------------------------------------------------------
# the policy


class Policy(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.n_hidden = n_hidden
        self.gru = nn.GRU(n_in, n_hidden, 1, batch_first=True)
        self.fc = nn.Linear(n_hidden, n_out)
        nn.init.xavier_uniform_(self.gru.weight_ih_l0)
        nn.init.orthogonal_(self.gru.weight_hh_l0)
        nn.init.zeros_(self.gru.bias_ih_l0)
        nn.init.zeros_(self.gru.bias_hh_l0)
        nn.init.xavier_uniform_(self.fc.weight)
        nn.init.constant_(self.fc.bias, -5.0)

    def init_hidden(self, batch):
        return torch.zeros(1, batch, self.n_hidden)

    def forward(self, obs, h):
        y, h = self.gru(obs[:, None, :], h)
        return torch.sigmoid(self.fc(y)).squeeze(1), h


# ---------------------------------------------------------------------------
# configurations and training

CONFIGS = {
    #        effector                 hidden batch duration
    "pm": (relu_point_mass_24, 32, 32, 1.0),
    "arm26": (rigid_tendon_arm_26, 128, 64, 1.0),
    "ct26": (compliant_tendon_arm_26, 128, 64, 0.1),
}


def train_batch(env, policy, opt, batch, gen):
    h = policy.init_hidden(batch)
    obs = env.reset(batch, gen)
    P = env.eff.skeleton.space_dim
    xy = [env.state[1][:, None, :P]]
    for _ in range(env.n_steps):
        action, h = policy(obs, h)
        obs = env.step(action)
        xy.append(env.state[1][:, None, :P])
    xy = torch.cat(xy, dim=1)                                       # (B, T+1, P)
    loss = torch.mean(torch.sum(torch.abs(xy - env.goal[:, None, :]), dim=-1))
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(policy.parameters(), max_norm=1.0)
    opt.step()
    return loss.item()


def main(argv=None):
    ap = argparse.ArgumentParser(description="PyTorch (MotorNet-style) benchmark peer")
    ap.add_argument("config", choices=sorted(CONFIGS))
    ap.add_argument("--batches", type=int, default=10, help="timed batches")
    ap.add_argument("--warmup", type=int, default=2, help="untimed batches first")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--steps", type=int, default=0,
                    help="episode length in steps instead of the configuration's "
                         "(bench/run --quick shortens ct26 this way and scales by ms_per_step)")
    ap.add_argument("--batch", type=int, default=0,
                    help="batch size instead of the configuration's (bench/run --batch)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch.set_num_threads(N) and OPENBLAS_NUM_THREADS=N (default 1)")
    args = ap.parse_args(argv)
    if args.threads < 1:
        ap.error("--threads must be at least 1")
    if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):
        # imported with another count in the environment (main() called from
        # another script): OpenBLAS has read its count already
        print(f"peer: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')} was read "
              f"when torch was imported, not {args.threads}", file=sys.stderr)

    # before any tensor is made (torch.set_num_threads' documented condition)
    torch.set_num_threads(args.threads)
    try:
        info = torch.__config__.parallel_info().strip().splitlines()
    except AttributeError:  # a torch without it: the count alone
        info = []
    print(f"peer: torch {torch.__version__}, get_num_threads() = {torch.get_num_threads()}; "
          + "; ".join(x.strip() for x in info[:8]), file=sys.stderr)
    torch.manual_seed(args.seed)
    make, hidden, batch, duration = CONFIGS[args.config]
    if args.batch > 0:
        batch = args.batch
    env = RandomTargetReach(make(torch.float32), duration)
    if args.steps > 0:
        env.n_steps = args.steps
    policy = Policy(env.n_obs(), hidden, env.eff.n_muscles)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(args.seed)

    losses = []
    for _ in range(args.warmup):
        losses.append(train_batch(env, policy, opt, batch, gen))
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(args.batches):
        losses.append(train_batch(env, policy, opt, batch, gen))
    n = max(args.batches, 1)
    ms = 1000.0 * (time.perf_counter() - t0) / n
    cpu_ms = 1000.0 * (time.process_time() - c0) / n
    bad = [x for x in losses if not math.isfinite(x)]
    tail = losses[-100:]  # warm-up batches included: they are training batches
    print(f"peer {args.config} ms_per_batch={ms:.2f} loss_first={losses[0]:.6g} "
          f"loss_last={losses[-1]:.6g} loss_last100={sum(tail) / len(tail):.6g} "
          f"cpu_ms_per_batch={cpu_ms:.2f} "
          f"ms_per_step={ms / env.n_steps:.4f} "
          f"batches={args.batches} warmup={args.warmup} threads={torch.get_num_threads()} "
          f"T={env.n_steps} B={batch} H={hidden} I={env.n_obs()} M={env.eff.n_muscles}")
    if bad:
        print(f"peer {args.config}: {len(bad)} non-finite losses", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

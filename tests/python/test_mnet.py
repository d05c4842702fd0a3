"""test_mnet.py - the Python package over libmnet (issue 16): an Env rollout
with a run's policy equals `mnet eval`'s recorded episodes bit for bit (drawn
episodes with every kind of noise, delays, action frames and a curl field;
the validation set); load_run round-trips; the effector's VJPs against
finite differences; bad input raises, never crashes; the torch parts skip
with a message when torch is absent.

usage: python3 test_mnet.py BUILD_DIR   (ctest sets MNET_LIB and PYTHONPATH)
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

BUILD = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else os.path.join(os.getcwd(), "build")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE, "python"))
os.environ.setdefault("MNET_LIB", os.path.join(BUILD, "api", "libmnet.so"))
import mnet  # noqa: E402

MNET = os.path.join(BUILD, "tools", "mnet")
TASK = """import "ReluPointMass24.mnet";
task co {
  effector ReluPointMass24;
  kind delayed_reach;
  duration 300 ms;
  policy gru(hidden = 8);
  train batch = 8, batches = 20, seed = 2;
}
"""
SETS = ["noise.action=0.02", "noise.proprioception=0.01", "noise.vision=0.01", "noise.observation=0.01",
        "noise.hidden=0.01", "action_frames=2", "delay.vision=0.05", "load.curl=5"]


def mnet_cli(*args):
    r = subprocess.run([MNET] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("mnet %s failed: %s%s" % (" ".join(args), r.stdout, r.stderr))
    return r.stdout


class Fixture:
    tmp = None

    @classmethod
    def get(cls):
        if cls.tmp is None:
            cls.tmp = tempfile.TemporaryDirectory()
            d = cls.tmp.name
            with open(os.path.join(d, "co.mnet"), "w") as f:
                f.write(TASK)
            sets = sum((["--set", s] for s in SETS), [])
            mnet_cli("train", os.path.join(d, "co.mnet"), "--out", os.path.join(d, "run"), *sets)
            mnet_cli("eval", os.path.join(d, "run"), "--episodes", "8", "--seed", "5", "--out",
                     os.path.join(d, "drawn.safetensors"))
            mnet_cli("eval", os.path.join(d, "run"), "--episodes", "20", "--seed", "7", "--out",
                     os.path.join(d, "drawn20.safetensors"))
            mnet_cli("eval", os.path.join(d, "run"))  # the validation set, DIR/episodes.safetensors
        return cls.tmp.name


def rollout(run, n, seed, validation=False):
    """Env + the run's policy, every array as `mnet eval` records it."""
    env, pol = mnet.Env(run, batch_size=n), run.policy()
    obs, info = env.reset(seed=seed, options={"validation": validation})
    pol.reset(env)
    rec = {k: [] for k in ("obs", "output", "action", "load", "state")}
    terms = {k: [] for k in env.loss_names}
    rec["state"].append(env.get("state"))
    for t in range(env.n_steps):
        rec["obs"].append(obs)
        y = pol(obs)
        rec["output"].append(y)
        obs, reward, terminated, truncated, info = env.step(y)
        assert terminated == (t == env.n_steps - 1) and truncated is False
        assert reward.shape == (n,) and reward.dtype == np.float64
        rec["action"].append(env.get("action"))
        rec["load"].append(env.get("load"))
        rec["state"].append(env.get("state"))
        for k in terms:
            terms[k].append(info["terms"][k])
    out = {k: np.stack(v, 1) for k, v in rec.items()}
    out["terms"] = {k: np.stack(v, 1).astype(np.float32) for k, v in terms.items()}
    out["goal"], out["start"] = env.get("goal"), env.get("start")
    return env, out


class EnvEqualsEval(unittest.TestCase):
    def check(self, path, seed, validation=False):
        d = Fixture.get()
        run = mnet.load_run(os.path.join(d, "run"))
        ep, meta = mnet.read_safetensors(path)
        n = int(meta["n_episodes"])
        env, r = rollout(run, n, seed, validation)
        e = run.effector
        D, P = e.n_dof, e.space_dim
        cart = e.names["state"].index(next(s for s in e.names["state"] if s.startswith("cartesian")))
        pairs = [("obs", r["obs"]), ("output", r["output"]), ("action", r["action"]), ("load", r["load"]),
                 ("joint.q", r["state"][..., :D]), ("joint.qd", r["state"][..., D:2 * D]),
                 ("endpoint.pos", r["state"][..., cart:cart + P]),
                 ("endpoint.vel", r["state"][..., cart + P:cart + 2 * P]),
                 ("goal", r["goal"]), ("start", r["start"])]
        for name, got in pairs:
            want = ep[name]
            self.assertEqual(got.shape, want.shape, name)
            diff = np.abs(got.astype(np.float64) - want).max()
            print("  %-14s %-18s max |env - eval| = %g" % (os.path.basename(path), name, diff))
            self.assertTrue(np.array_equal(got, want), "%s differs (max %g)" % (name, diff))
        for k, v in r["terms"].items():
            # the environment's per-step value at s_{t+1}: eval's loss.<term>[:, 1:]
            self.assertTrue(np.array_equal(v, ep["loss." + k][:, 1:], equal_nan=True), "loss." + k)
        # the reward is -sum_k w_k * term_k
        self.assertEqual(env.loss_weights, [float(w) for w in meta["loss.weight"].split(",")])

    def test_drawn_episodes_bit_for_bit(self):
        self.check(os.path.join(Fixture.get(), "drawn.safetensors"), 5)

    def test_drawn_more_than_a_batch(self):
        self.check(os.path.join(Fixture.get(), "drawn20.safetensors"), 7)

    def test_validation_set_bit_for_bit(self):
        self.check(os.path.join(Fixture.get(), "run", "episodes.safetensors"), 2, validation=True)

    def test_reward_is_weighted_terms(self):
        run = mnet.load_run(os.path.join(Fixture.get(), "run"))
        env = mnet.Env(run, batch_size=3)
        env.reset(seed=1)
        _, reward, _, _, info = env.step(np.full((3, env.n_actions), 0.3, np.float32))
        want = -sum(w * np.nan_to_num(info["terms"][k]) for k, w in zip(env.loss_names, env.loss_weights))
        self.assertTrue(np.allclose(reward, want, rtol=0, atol=1e-15))


class ModularOptions(unittest.TestCase):
    def test_delays_rectified_learned_h0_bit_for_bit(self):
        """A modular network with delays between its modules, the rectified
        candidate and a learned initial state: the API's policy (the network
        rebuilt from the stored run) reproduces mnet eval's recording."""
        d = tempfile.mkdtemp(dir=Fixture.get())
        mnet_cli("train", os.path.join(SOURCE, "examples", "modular_dale.mnet"), "--out", os.path.join(d, "run"),
                 "--batches", "3", "--set", "train.batch=4", "--set", "policy.candidate=rectified_tanh",
                 "--set", "policy.initial_state=learned")
        mnet_cli("eval", os.path.join(d, "run"))
        run = mnet.load_run(os.path.join(d, "run"))
        self.assertIn("policy.candidate=rectified_tanh", run.run_text)
        self.assertIn("gru.h0", run.tensors)
        ep, meta = mnet.read_safetensors(os.path.join(d, "run", "episodes.safetensors"))
        _, r = rollout(run, int(meta["n_episodes"]), 2, validation=True)
        diff = np.abs(r["output"].astype(np.float64) - ep["output"]).max()
        print("  modular (delays, rectified, learned h0) output: max |policy - eval| = %g" % diff)
        self.assertTrue(np.array_equal(r["output"], ep["output"]))


class LoadRun(unittest.TestCase):
    def test_round_trip(self):
        d = Fixture.get()
        run = mnet.load_run(os.path.join(d, "run"))
        # the run text: the checkpoint's, the episodes file's, an Env's and a trainer's
        self.assertEqual(run.run_text, run.episodes_meta["run"])
        for s in SETS:
            self.assertIn(s, run.run_text)
        self.assertEqual(mnet.Env(run).run_text, run.run_text)
        self.assertEqual(run.batches, 20)
        # the weights: the checkpoint's equal weights.safetensors in mnet_nn's order
        t = run.tensors
        flat = np.concatenate([t[k].ravel() for k in ("gru.weight_ih_l0", "gru.weight_hh_l0", "gru.bias_ih_l0",
                                                      "gru.bias_hh_l0", "fc.weight", "fc.bias")])
        self.assertTrue(np.array_equal(flat, run.weights))
        self.assertEqual(run.net["inputs"], t["gru.weight_ih_l0"].shape[1])
        # the log: one row per batch
        self.assertEqual(list(run.log["batch"]), list(range(20)))
        self.assertTrue(np.all(np.isfinite(run.log["loss"])))
        # the episodes: batch-major arrays of the header's sizes
        n, T = int(run.episodes_meta["n_episodes"]), int(run.episodes_meta["n_steps"])
        self.assertEqual(run.episodes["obs"].shape, (n, T, run.net["inputs"]))

    def test_trainer_writes_a_run_mnet_reads(self):
        d = Fixture.get()
        run = mnet.load_run(os.path.join(d, "run"))
        eff = mnet.compile(os.path.join(d, "co.mnet"))
        out = os.path.join(d, "api_run")
        tr = mnet.Trainer(eff, run.run_text, out)
        self.assertEqual(tr.train(10), 10)
        tr.close()
        tr = mnet.Trainer.resume(out)
        self.assertEqual(tr.train(), 20)
        self.assertTrue(np.isfinite(tr.loss))
        tr.close()
        again = mnet.load_run(out)
        self.assertEqual(again.run_text, run.run_text)
        self.assertEqual(again.batches, 20)
        self.assertEqual(list(again.log["batch"]), list(range(20)))
        # the same run text and seed through the same loop: `mnet train`'s weights
        diff = np.abs(again.weights - run.weights).max()
        print("  trainer (10 + resumed 10 batches) vs mnet train: max |weight difference| = %g" % diff)
        self.assertTrue(np.array_equal(again.weights, run.weights))
        mnet_cli("eval", out)  # mnet reads what the API wrote


class EffectorFunctions(unittest.TestCase):
    def test_vjp_against_finite_differences(self):
        eff = mnet.compile(os.path.join(SOURCE, "examples", "reach_arm26.mnet"))
        rng = np.random.default_rng(1)
        lo, hi = eff.joint_range
        B = 3
        q = lo + (hi - lo) * rng.uniform(0.3, 0.7, (B, eff.n_dof))
        s = eff.init(np.concatenate([q, 0.1 * rng.standard_normal((B, eff.n_dof))], 1))
        a = rng.uniform(0.1, 0.9, (B, eff.n_muscles))
        load = 0.1 * rng.standard_normal((B, eff.n_load))
        g = rng.standard_normal((B, eff.n_state))
        gs, ga, gl = eff.step_vjp(s, a, load, g)
        worst = 0.0
        for k in range(eff.n_muscles):
            h = 1e-6
            ap, am = a.copy(), a.copy()
            ap[:, k] += h
            am[:, k] -= h
            fd = ((eff.step(s, ap, load) - eff.step(s, am, load)) * g).sum(1) / (2 * h)
            err = np.abs(fd - ga[:, k]) / (1e-6 + np.abs(fd))
            worst = max(worst, err.max())
        print("  step_vjp d/d action vs central differences: max relative error %.2e" % worst)
        self.assertLess(worst, 1e-5)
        self.assertEqual(eff.sense(s).shape, (B, eff.n_sense))
        self.assertEqual(eff.points(s).shape, (B, eff.n_points, eff.space_dim))


class BadInput(unittest.TestCase):
    def test_errors_not_crashes(self):
        d = Fixture.get()
        run = mnet.load_run(os.path.join(d, "run"))
        eff = run.effector
        with self.assertRaises(ValueError):
            eff.step(np.zeros((2, eff.n_state)), np.zeros((2, eff.n_muscles + 1)))
        with self.assertRaises(ValueError):
            eff.step(np.zeros((2, eff.n_state)), np.zeros((3, eff.n_muscles)))
        with self.assertRaises(ValueError):
            eff.init(np.zeros((2, 2, 2)))
        env = mnet.Env(run, batch_size=2)
        with self.assertRaises(mnet.MnetError) as cm:
            env.step(np.zeros((2, env.n_actions)))  # before reset
        self.assertEqual(cm.exception.name, "MN_ESTATE")
        env.reset(seed=1)
        with self.assertRaises(ValueError):
            env.step(np.zeros((3, env.n_actions)))
        for _ in range(env.n_steps):
            env.step(np.zeros((2, env.n_actions)))
        with self.assertRaises(mnet.MnetError):
            env.step(np.zeros((2, env.n_actions)))  # past done
        with self.assertRaises(ValueError):
            env.reset(seed=-1)
        with self.assertRaises(ValueError):
            env.reset(seed=1, options={"frobnicate": 1})
        with self.assertRaises(ValueError):
            mnet.Env(run, batch_size=0)
        with self.assertRaises(mnet.MnetError):
            mnet.Env(run, run_text="train.lr=-1\n")
        with self.assertRaises(mnet.MnetError):
            mnet.Env(run, run_text="frobnicate=1\n")
        with self.assertRaises(KeyError):
            eff.set_param("no.such.parameter", 1)
        with self.assertRaises(mnet.MnetError):
            eff.set_param(eff.names["param"][0], float("nan"))
        # closed handles (NULL in the library)
        env.close()
        with self.assertRaises(mnet.MnetError):
            env.reset(seed=1)
        pol = run.policy()
        with self.assertRaises(mnet.MnetError):
            pol(np.zeros((1, run.net["inputs"])))  # before reset
        # another model: its environment does not fit the run's network
        other = mnet.compile(os.path.join(SOURCE, "examples", "reach_arm26.mnet"))
        oenv = mnet.Env(other, batch_size=2)
        oenv.reset(seed=1)
        with self.assertRaises(mnet.MnetError) as cm:
            pol.reset(oenv)
        self.assertIn("does not fit", str(cm.exception))
        # another model's run text (its parameters) on this effector
        with self.assertRaises(mnet.MnetError):
            mnet.Env(eff, run_text=other.run_text)
        # directories that hold no run, or a damaged one
        with self.assertRaises(mnet.MnetError):
            mnet.load_run(os.path.join(d, "nowhere"))
        bad = os.path.join(d, "bad_run")
        os.makedirs(bad, exist_ok=True)
        with open(os.path.join(d, "run", "checkpoint.mnetckpt"), "rb") as f:
            data = bytearray(f.read())
        data[200] ^= 0xFF
        with open(os.path.join(bad, "checkpoint.mnetckpt"), "wb") as f:
            f.write(data)
        with self.assertRaises(mnet.MnetError):
            mnet.load_run(bad)
        # the compiler's diagnostics come back in the exception
        with self.assertRaises(mnet.MnetError) as cm:
            mnet.compile(text="effector x {")
        self.assertIn("<text>:1:", str(cm.exception))
        with self.assertRaises(TypeError):
            mnet.Env("not an effector")


class Spaces(unittest.TestCase):
    def test_spaces(self):
        run = mnet.load_run(os.path.join(Fixture.get(), "run"))
        env = mnet.Env(run, batch_size=4)
        self.assertEqual(env.observation_space.shape, (run.net["inputs"],))
        self.assertEqual(env.action_space.shape, (run.net["outputs"],))
        self.assertTrue(np.all(env.action_space.low == 0) and np.all(env.action_space.high == 1))
        obs, _ = env.reset(seed=3)
        self.assertTrue(env.observation_space.contains(obs[0]))
        self.assertTrue(env.action_space.contains(env.action_space.sample()))


class Torch(unittest.TestCase):
    def test_torch(self):
        try:
            import torch  # noqa: F401
        except ImportError:
            print("  SKIP: torch is not installed: the autograd Function's gradcheck and the GRU trained "
                  "through the effector (tests/python/test_torch.py) did not run")
            self.skipTest("torch is not installed")
        r = subprocess.run([sys.executable, os.path.join(SOURCE, "tests", "python", "test_torch.py")],
                           capture_output=True, text=True)
        print(r.stdout + r.stderr)
        self.assertEqual(r.returncode, 0)


if __name__ == "__main__":
    prog = unittest.main(exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)

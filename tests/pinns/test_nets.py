"""Networks: shapes, PirateNet's linear start, exact periodicity, weight factorisation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pinns.nets import NetConfig, dense, embedding, make_net, pirate_features, set_output_layer, stack_nets

SMALL = dict(width=16, depth=2)


@pytest.mark.parametrize("arch", ["mlp", "modified_mlp", "pirate"])
def test_output_shape_and_finite(arch):
    net = make_net(NetConfig(arch=arch, **SMALL), in_dim=3, out_dim=2)
    params = jax.jit(net.init)(jax.random.PRNGKey(0))
    out = jax.jit(jax.vmap(net.apply, (None, 0)))(params, jnp.ones((5, 3)))
    assert out.shape == (5, 2)
    assert np.all(np.isfinite(out))


def test_pirate_with_alpha_zero_is_linear_in_its_embedding():
    net = make_net(NetConfig(arch="pirate", **SMALL), in_dim=2, out_dim=3)
    params = jax.jit(net.init)(jax.random.PRNGKey(1))
    z = jax.random.normal(jax.random.PRNGKey(2), (7, 2))
    apply = jax.jit(jax.vmap(net.apply, (None, 0)))
    out = apply(params, z)
    linear = jax.jit(jax.vmap(lambda p, q: dense(p["out"], pirate_features(p, q)), (None, 0)))(params, z)
    # alpha = 0 makes every block an exact identity: equal up to float32 round-off of one matmul
    np.testing.assert_allclose(out, linear, rtol=1e-5, atol=1e-6)
    # ... and a nonzero alpha makes the blocks count
    params["blocks"][0]["alpha"] = jnp.ones((1,))
    out2 = apply(params, z)
    assert np.max(np.abs(out2 - linear)) > 1e-3


def test_periodic_embedding_gives_exactly_periodic_outputs_and_derivatives():
    with jax.enable_x64(True):
        embed, dim = embedding(("t", "y", "x"), {"x": 2.0, "y": 0.5})
        assert dim == 5
        net = make_net(NetConfig(arch="pirate", **SMALL), in_dim=dim, out_dim=1)
        params = jax.jit(lambda k: jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), net.init(k)))(
            jax.random.PRNGKey(3))
        f = lambda z: net.apply(params, embed(z))[0]  # noqa: E731
        u, u_x, u_xx = jax.jit(f), jax.jit(jax.grad(f)), jax.jit(jax.hessian(f))
        z = jnp.array([0.3, 0.1, -0.7])
        for shift in (jnp.array([0.0, 0.0, 2.0]), jnp.array([0.0, 0.5, 0.0]), jnp.array([0.0, -1.0, 4.0])):
            # float64 round-off of cos/sin at shifted arguments (|arg| < 30): 1e-13 is ~100 ulp of slack
            np.testing.assert_allclose(u(z + shift), u(z), rtol=0, atol=1e-12)
            np.testing.assert_allclose(u_x(z + shift), u_x(z), rtol=0, atol=1e-11)
            np.testing.assert_allclose(u_xx(z + shift), u_xx(z), rtol=0, atol=1e-10)
        # time is not periodic
        assert abs(u(z + jnp.array([1.0, 0, 0])) - u(z)) > 1e-6


def test_random_weight_factorisation_keeps_the_glorot_scale():
    cfg = NetConfig(arch="mlp", width=256, depth=1, rff_scale=0.0, rwf=(1.0, 0.1))
    layer = jax.jit(make_net(cfg, 256, 1).init)(jax.random.PRNGKey(4))["hidden"][0]
    w = layer["v"] * jnp.exp(layer["s"])
    assert float(jnp.std(w)) == pytest.approx(np.sqrt(2 / 512), rel=0.02)  # 65536 Glorot draws: 0.3 % noise
    s = layer["s"]
    assert float(jnp.mean(s)) == pytest.approx(1.0, abs=0.03) and float(jnp.std(s)) == pytest.approx(0.1, rel=0.2)


def test_set_output_layer_and_stacked_nets():
    net = make_net(NetConfig(arch="pirate", **SMALL), 2, 1)
    params = set_output_layer(jax.jit(net.init)(jax.random.PRNGKey(5)), np.ones((16, 1)), np.array([0.5]))
    z = jnp.array([0.1, 0.2])
    both = jax.jit(lambda p, z: (net.apply(p, z), jnp.sum(pirate_features(p, z)) + 0.5))
    np.testing.assert_allclose(*both(params, z), rtol=1e-5)
    two = stack_nets([make_net(NetConfig(arch="mlp", width=8, depth=1, rff_scale=0.0), 2, 1)] * 2)
    assert jax.jit(two.apply)(jax.jit(two.init)(jax.random.PRNGKey(6)), z).shape == (2,)


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="unknown architecture"):
        NetConfig(arch="transformer")
    with pytest.raises(ValueError, match="Fourier"):
        NetConfig(arch="pirate", rff_scale=0.0)
    with pytest.raises(ValueError, match="periodic axes"):
        embedding(("t", "x"), {"y": 1.0})
    with pytest.raises(ValueError, match="kink axes"):
        embedding(("t", "x"), {}, kinks={"x": -1.0})

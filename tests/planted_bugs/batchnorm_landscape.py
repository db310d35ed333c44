"""The planted bugs of claims/test_batchnorm_landscape.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("identity-normalization", claim="batchnorm-landscape",
         select="smooths_the_mlp_landscape",
         what="the BN layer returns its input unnormalized",
         expect="smooths-landscape-mlp")
def identity_normalization(mp):
    from reproductions import models as md
    original = md._normalize
    mp.setattr(md, "_normalize", lambda x, code, noise, stat_rows: x if code != md.VARIANTS[
        "noisy"] else original(x, code, noise, stat_rows))


@planted("probe-ignores-the-step-size", claim="batchnorm-landscape",
         select="smooths_the_mlp_landscape",
         what="the landscape probe steps by the smallest step size at every step size",
         expect="smooths-landscape-mlp")
def probe_ignores_the_step_size(mp):
    """The landscape probe moves every model by the smallest step size only."""
    from reproductions import batchnorm_landscape as bl
    original = bl.landscape_probe
    mp.setattr(bl, "landscape_probe", lambda arch, params, grads, x, y, variant, etas, kind="ce":
               original(arch, params, grads, x, y, variant, (etas[0],) * len(etas), kind))


@planted("noisy-bn-without-noise", claim="batchnorm-landscape",
         select="noisy_bn_activations and mlp",
         what="noisy BN draws no noise",
         expect="noisy-bn-trains", slow=True)
def noisy_bn_without_noise(mp):
    import torch

    from reproductions import batchnorm_landscape as bl

    def quiet(arch, gens, B, spatial, cfg, device):
        return [(torch.ones(1), torch.zeros(1)) for _ in spatial]
    mp.setattr(bl, "_draw_noise", quiet)

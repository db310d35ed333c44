"""The planted bugs of claims/test_end_to_end_rule.py."""

from __future__ import annotations

import math

from planted_bugs import planted


@planted("balanced-start-rescaled", claim="e2e-rule-first-order",
         select="second_order_in_eta",
         what="the balanced factorization scales W_1 by 1.5 and W_N by 1/1.5 (same product, "
              "unbalanced)",
         expect="error-second-order")
def balanced_start_rescaled(mp):
    """The 'balanced' factorization returns W_1 x 1.5 and W_N / 1.5: the same product, unbalanced."""
    from reproductions import end_to_end as ee
    original = ee.balanced_start

    def rescaled(seed, depth, config=ee.CONFIG):
        We, Ws, X, Y = original(seed, depth, config)
        return We, ee.rescaled(Ws, 1.5), X, Y
    mp.setattr(ee, "balanced_start", rescaled)


@planted("loop-integral-along-the-radius", claim="not-attainable-by-regularization",
         select="gradient_field",
         what="the loop integral dots F with the radius instead of the tangent",
         expect="n1-is-a-gradient")
def loop_integral_along_the_radius(mp):
    """The loop integral dots F with the radius gamma - c instead of the tangent gamma'."""

    import torch

    from reproductions import end_to_end as ee

    def radial(F, center, a, b, radius, points):
        t = torch.arange(points, dtype=torch.float64) * (2 * math.pi / points)
        offset = radius * (torch.cos(t)[:, None] * a + torch.sin(t)[:, None] * b)
        Fs = torch.vmap(F)(center + offset)
        h = 2 * math.pi / points
        return (float((Fs * offset).sum() * h),
                float((Fs.norm(dim=1) * offset.norm(dim=1)).sum() * h))
    mp.setattr(ee, "loop_integral", radial)


@planted("one-factor-lr-off-by-ten-percent", claim="balancedness-preserved",
         select="drift_halves",
         what="GD on the factors gives the middle factor 1.1x the learning rate",
         expect="drift-halves-with-eta")
def one_factor_lr_off_by_ten_percent(mp):
    """GD on the factors gives the middle factor 1.1 times the others' learning rate."""
    from reproductions import end_to_end as ee
    original = ee.gd_on_factors

    def off(Ws, X, Y, eta, steps, lr_scales=None):
        scales = [1.0] * len(Ws) if lr_scales is None else list(lr_scales)
        scales[1] *= 1.1
        return original(Ws, X, Y, eta, steps, scales)
    mp.setattr(ee, "gd_on_factors", off)


@planted("small-init-scale-as-variance", claim="balancedness-at-small-init",
         select="small_start_is_balanced",
         what="the small start draws its factors with variance s (std sqrt(s)) instead of std s",
         expect="absolute-imbalance-vanishes")
def small_init_scale_as_variance(mp):
    """The init scale s is used as the factors' variance: W_j ~ sqrt(s) N(0, 1)."""
    from reproductions import end_to_end as ee
    original = ee.small_init_imbalance
    mp.setattr(ee, "small_init_imbalance", lambda seed, scale, depth=3, width=4: original(
        seed, math.sqrt(scale), depth, width))


@planted("imbalance-with-a-plus-sign", claim="balancedness-at-small-init",
         select="balanced_factors_have_no_imbalance",
         what="the imbalance adds W_j W_j^T to W_(j+1)^T W_(j+1) instead of subtracting it",
         expect="balanced-factors-exact")
def imbalance_with_a_plus_sign(mp):
    """D_j = W_(j+1)^T W_(j+1) + W_j W_j^T: the sign of the second Gram matrix flipped."""
    from reproductions import end_to_end as ee
    mp.setattr(ee, "imbalances", lambda Ws: [
        Ws[j + 1].transpose(-1, -2) @ Ws[j + 1] + Ws[j] @ Ws[j].transpose(-1, -2)
        for j in range(len(Ws) - 1)])


@planted("product-drops-the-last-factor", claim="depth-keeps-expressiveness",
         select="wide_enough_products",
         what="the product W_N ... W_1 stops one factor early (W_N left out)",
         expect="wide-enough-product-is-any-matrix")
def product_drops_the_last_factor(mp):
    """product() loops over Ws[1:-1]: an off-by-one that leaves out the last factor."""
    from reproductions import end_to_end as ee

    def product(Ws):
        P = Ws[0]
        for W in Ws[1:-1]:
            P = W @ P
        return P
    mp.setattr(ee, "product", product)


@planted("balanced-factors-of-rank-k-minus-1", claim="depth-keeps-expressiveness",
         select="wide_enough_products",
         what="the balanced factorization keeps only the k - 1 largest singular values of W_e",
         expect="wide-enough-product-is-any-matrix")
def balanced_factors_of_rank_k_minus_1(mp):
    """The factors are built from W_e's SVD truncated one direction short (rank k - 1)."""
    import numpy as np

    from reproductions import linear_nets as ln
    original = ln.balanced_multi

    def truncated(We, depth, width, rng):
        U, S, Vt = np.linalg.svd(We, full_matrices=False)
        return original((U[:, :-1] * S[:-1]) @ Vt[:-1], depth, width, rng)
    mp.setattr(ln, "balanced_multi", truncated)


@planted("factor-weight-decay-halved", claim="e2e-rule-first-order",
         select="weight_decay_enters",
         what="the factors' weight-decay step uses lambda / 2 (W_j <- (1 - eta lambda / 2) W_j - "
              "eta dL/dW_j)",
         expect="weight-decay-factor")
def factor_weight_decay_halved(mp):
    """GD on the factors decays each by 1 - eta lambda / 2 (the penalty's 1/2 applied twice)."""
    from reproductions import end_to_end as ee
    original = ee.factor_gd_step
    mp.setattr(ee, "factor_gd_step", lambda Ws, X, Y, eta, wd: original(Ws, X, Y, eta, wd / 2))


@planted("vec-row-major", claim="slides003-eigen-exponent",
         select="kronecker_preconditioner_has_the_papers",
         what="vec() flattens row by row, while P_W is built for the column-major vec",
         expect="slides003-eigen-exponent:reference-agrees", kernel="end_to_end.vec")
def vec_row_major(mp):
    """vec(M) = M.reshape(-1): row-major, where the Kronecker-built P_W needs order='F'."""
    from reproductions import end_to_end as ee
    mp.setattr(ee, "vec", lambda M: M.reshape(-1))


@planted("eigenvalue-formula-ignores-its-shift", claim="slides003-eigen-exponent",
         select="slides_eigenvalue_exponent_misses",
         what="Claim 1's eigenvalue formula drops its shift argument, so the slides' exponent "
              "2(j-2)/N is evaluated as the paper's 2(j-1)/N",
         expect="slides003-eigen-exponent:document-differs")
def eigenvalue_formula_ignores_its_shift(mp):
    """claim1_eigenvalue is called without passing the shift on (always the default 1)."""
    from reproductions import linear_nets as ln
    original = ln.claim1_eigenvalue
    mp.setattr(ln, "claim1_eigenvalue", lambda sigma, r, r2, N, shift=1: original(
        sigma, r, r2, N))


@planted("single-output-projection-over-the-norm", claim="e2e-single-output-formula",
         select="single_output_formula_and_slides_emulate",
         what="the single-output step projects with (w . g / ||w||) w instead of "
              "(w . g / ||w||^2) w",
         expect="formula-equals-general-rule")
def single_output_projection_over_the_norm(mp):
    """e2e_step_single's Pr_w g divides by ||w|| where ||w||^2 belongs."""
    from reproductions import linear_nets as ln

    def step(w, g, lr, N):
        n2 = (w * w).sum(0, keepdim=True)
        proj = (w * g).sum(0, keepdim=True) / n2.sqrt() * w
        return w - lr * n2 ** (1 - 1 / N) * (g + (N - 1) * proj)
    mp.setattr(ln, "e2e_step_single", step)


@planted("preconditioner-drops-the-last-term", claim="e2e-single-output-formula",
         select="kronecker_operator_at_one_output",
         what="the Kronecker-built preconditioner sums j = 1 .. N - 1 (the j = N term left out)",
         expect="general-rule-is-the-operator", kernel="end_to_end.preconditioner_matrix")
def preconditioner_drops_the_last_term(mp):
    """preconditioner_matrix's sum runs over range(1, N): off by one, the j = N term missing."""
    import numpy as np

    from reproductions import linear_nets as ln
    from reproductions import end_to_end as ee

    def preconditioner_matrix(W, N):
        WtW, WWt = W.T @ W, W @ W.T
        return sum(np.kron(ln.matrix_power_psd(WtW, (N - j) / N),
                           ln.matrix_power_psd(WWt, (j - 1) / N)) for j in range(1, N))
    mp.setattr(ee, "preconditioner_matrix", preconditioner_matrix)


@planted("factor-gd-residual-over-all-entries", claim="balancedness-preserved",
         select="factor_gradients_are_autograds",
         what="GD on the factors averages the residual's gradient over the n k entries instead "
              "of the n rows (dL/dW divided by k)",
         expect="factor-gradients-exact", kernel="end_to_end.gd_on_factors")
def factor_gd_residual_over_all_entries(mp):
    """gd_on_factors' dL/dW at W_e is (X W_e^T - Y)^T X / (n k): a mean over all entries."""
    from reproductions import linear_nets as ln
    original = ln.wide_factor_grads
    mp.setattr(ln, "wide_factor_grads", lambda Ws, g: original(Ws, g / g.shape[1]))


@planted("field-norm-power-halved", claim="not-attainable-by-regularization",
         select="not_a_gradient_field",
         what="the update field scales by ||w||^(1-1/N) instead of ||w||^(2-2/N)",
         expect="field-not-conservative")
def field_norm_power_halved(mp):
    """F(w) takes ||w|| where ||w||^2 belongs in its norm factor: ||w||^{1-1/N} (g + ...)."""
    from reproductions import end_to_end as ee
    original = ee.update_field

    def update_field(X, y, N):
        F = original(X, y, N)
        return lambda w: F(w) * (w @ w) ** (-(1 - 1 / N) / 2)
    mp.setattr(ee, "update_field", update_field)


@planted("eigenvalue-grid-with-the-slides-exponent",
         claim="preconditioner-favors-strong-directions", select="grows_with_both_singular_values",
         what="the eigenvalue grid uses the slides' exponent 2(j-2)/N on s'",
         expect="eigenvalue-increases")
def eigenvalue_grid_with_the_slides_exponent(mp):
    """eigenvalue_grid sums s^{2(N-j)/N} s'^{2(j-2)/N}: the slides' misprint carried over."""
    from reproductions import end_to_end as ee

    def eigenvalue_grid(N, sigmas):
        s, s2 = sigmas[:, None], sigmas[None, :]
        return sum(s ** (2 * (N - j) / N) * s2 ** (2 * (j - 2) / N) for j in range(1, N + 1))
    mp.setattr(ee, "eigenvalue_grid", eigenvalue_grid)


@planted("eigenvalue-grid-drops-the-last-term", claim="preconditioner-favors-strong-directions",
         select="depth_one_the_eigenvalue_is_one",
         what="the eigenvalue grid sums j = 1 .. N - 1 (the j = N term left out)",
         expect="depth-one-is-flat")
def eigenvalue_grid_drops_the_last_term(mp):
    """eigenvalue_grid's sum runs over range(1, N): off by one (at N = 1 it is empty)."""
    from reproductions import end_to_end as ee

    def eigenvalue_grid(N, sigmas):
        s, s2 = sigmas[:, None], sigmas[None, :]
        return sum(s ** (2 * (N - j) / N) * s2 ** (2 * (j - 1) / N) for j in range(1, N))
    mp.setattr(ee, "eigenvalue_grid", eigenvalue_grid)


@planted("single-output-projection-times-n", claim="single-output-amplifies-along-w",
         select="depth_one_both_gains",
         what="the single-output step adds N Pr_w g instead of (N - 1) Pr_w g",
         expect="depth-one-gains-equal")
def single_output_projection_times_n(mp):
    """e2e_step_single's projection coefficient is N where N - 1 belongs."""
    from reproductions import linear_nets as ln

    def step(w, g, lr, N):
        n2 = (w * w).sum(0, keepdim=True)
        proj = (w * g).sum(0, keepdim=True) / n2 * w
        return w - lr * n2 ** (1 - 1 / N) * (g + N * proj)
    mp.setattr(ln, "e2e_step_single", step)


@planted("single-output-norm-over-the-wrong-axis", claim="single-output-amplifies-along-w",
         select="n_times_harder",
         what="the single-output step takes ||w||^2 and w . g over the batch axis (per "
              "coordinate) instead of over the coordinates",
         expect="along-is-n-times-across")
def single_output_norm_over_the_wrong_axis(mp):
    """e2e_step_single reduces over axis 1 (the columns of the batch) where axis 0 belongs."""
    from reproductions import linear_nets as ln

    def step(w, g, lr, N):
        n2 = (w * w).sum(1, keepdim=True)
        proj = (w * g).sum(1, keepdim=True) / n2 * w
        return w - lr * n2 ** (1 - 1 / N) * (g + (N - 1) * proj)
    mp.setattr(ln, "e2e_step_single", step)

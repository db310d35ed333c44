"""The planted bugs of claims/test_batch_size.py."""

from __future__ import annotations

from planted_bugs import planted


@planted("every-batch-is-the-full-batch", claim="small-batches-cost-less",
         select="same_examples or same_updates",
         what="every run trained with the full batch",
         expect="lower-loss-per-example")
def every_batch_is_the_full_batch(mp):
    """training_losses training with the whole training set whatever batch size is asked."""
    from reproductions import batch_size as bs
    original = bs.training_losses
    mp.setattr(bs, "training_losses", lambda seeds, optimizer, batch, epochs, cfg=bs.CONFIG:
               original(seeds, optimizer, cfg["n_train"], epochs, cfg))


@planted("rescaling-keeps-the-second-layer", claim="sharp-minima-generalize-worse",
         select="same_function",
         what="the rescaling without dividing the second layer",
         expect="sharpness-measure-responds")
def rescaling_keeps_the_second_layer(mp):
    """Dinh et al.'s rescaling scaling the first layer without dividing the second."""
    from reproductions import batch_size as bs
    mp.setattr(bs, "rescaled", lambda params, a: {**params, "w1": a * params["w1"],
                                                  "b1": a * params["b1"]})


@planted("power-iteration-stops-after-two", claim="sharp-minima-generalize-worse",
         select="explicit_hessians",
         what="two power iterations",
         expect="power-iteration-is-the-hessians", kernel="batch_size.top_hessian_eigenvalue")
def power_iteration_stops_after_two(mp):
    """The Hessian's power iteration stopped after 2 iterations."""
    from reproductions import batch_size as bs
    original = bs.top_hessian_eigenvalue
    mp.setattr(bs, "top_hessian_eigenvalue",
               lambda params, X, Y, iterations=50, seed=0: original(params, X, Y, 2, seed))


@planted("last-minibatch-of-each-epoch-skipped", claim="small-batches-cost-less",
         select="matches_torch",
         what="every epoch stops one minibatch early",
         expect="training-matches-torch", kernel="minibatch.shuffled_batches")
def last_minibatch_of_each_epoch_skipped(mp):
    """shuffled_batches cutting its slices with range(0, n - batch, batch): the last full
    minibatch of each epoch left out."""
    from reproductions import minibatch
    original = minibatch.shuffled_batches
    mp.setattr(minibatch, "shuffled_batches",
               lambda gens, n, batch, repeat=1: original(gens, n, batch, repeat)[:-1])

"""optclaims: the importable library behind the claims (data, optimizers, experiments)."""

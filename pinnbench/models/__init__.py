"""Models u_theta(x). Importing this package registers them."""

from pinnbench.models import (  # noqa: F401
    balls,
    elm_fbpinn,
    fbpinn,
    fls,
    kan,
    mlp,
    pinnsformer,
    pirate,
    qres,
    xpinn,
)

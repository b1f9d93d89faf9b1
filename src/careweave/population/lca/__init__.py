"""Latent class analysis: a finite mixture of independent categorical indicators, fitted by EM.

The model (Lazarsfeld & Henry 1968; notation of Linzer & Lewis 2011, "poLCA", J. Stat. Softw. 42(10)):

    P(x) = sum_k  pi_k  prod_j  theta_{k,j,x_j}

over J categorical indicators (condition flags, social needs, any analyst column) and K classes.

Design choices, and why:

* **Fit on distinct patterns with counts.** People with the same indicator pattern have identical
  posteriors, so the log-likelihood sum_i log P(x_i) equals sum_p n_p log P(x_p). Every EM step is
  the same arithmetic on P distinct patterns instead of N people (1M people -> ~80k patterns).
* **Missing at random, full information.** A missing indicator (code -1) is left out of that
  person's product, i.e. integrated out; its M-step denominators count observed values only
  (Vermunt & Magidson, Latent GOLD technical guide, "missing values"; StepMix's ``*_nan`` models).
  People with every indicator missing carry no information and are excluded from the fit.
* **Log space.** Class log-likelihoods are combined with log-sum-exp, so products of many small
  probabilities never underflow.
* **Maximum likelihood by default; smoothing on request.** With ``smoothing`` 0 (the default of
  :func:`fit_lca`, :func:`fit_csv` and ``careweave lca fit``) EM climbs the likelihood itself, so
  the fit and its log-likelihood are the ones poLCA, Mplus and StepMix report (a test reproduces
  poLCA's published carcinoma values). A probability ML puts at exactly zero is held at exp(-700)
  in log space so the arithmetic stays finite. A positive ``smoothing`` a adds a pseudo-counts to
  every category of every indicator within every class, and to every class weight:
  ``theta_kjc = (n_kjc + a) / (n_kj + a C_j)``, ``pi_k = (n_k + a) / (N + a K)``: the posterior
  mode under a Dirichlet(1 + a) prior (MAP-EM, cf. Galindo Garre & Vermunt 2006, Behaviormetrika
  33:43). It keeps every probability strictly positive, so a category unseen in a class at fit
  time cannot rule that class out for a new person; the population pipeline (:mod:`..segment`)
  uses a = 0.01 for that reason. Either way the reported log-likelihood is the ordinary
  (unpenalised) one at the fitted parameters.
* **Random starts.** EM finds a local maximum, so several starts are run and the one with the
  highest log-likelihood is kept (Linzer & Lewis 2011, section 2.2). Start s of a K-class fit uses
  ``numpy.random.default_rng([seed, K, s])``; starting values depend only on the seed and on the
  indicators' marginal distributions, never on row order or on how rows were grouped, so fitting
  the patterns and fitting the expanded rows follow the same EM path.
* **Acceleration.** EM steps are extrapolated with SQUAREM (Varadhan & Roland 2008), which keeps
  EM's monotone objective and fixed points but needs several times fewer steps (see :func:`careweave.population.lca.em.squarem`).
* **Canonical labels.** Classes are renumbered by descending estimated size, so class 0 is the
  largest and two fits can be compared.
* **Model choice.** BIC = -2 LL + p ln N (Schwarz 1978), the criterion recommended for LCA by
  Nylund, Asparouhov & Muthen 2007 (Struct. Equ. Modeling 14:535). Classification quality is
  reported as Ramaswamy et al.'s normalised entropy (1993, Marketing Science 12:103):
  E = 1 - sum_i sum_k -r_ik ln r_ik / (N ln K), in [0, 1]; 1 means every person is assigned with
  certainty. It is 1.0 by definition when K = 1.

Only numpy is needed at runtime; StepMix is used by the tests as an independent check.

The package: :mod:`.em` (the EM core), :mod:`.patterns` (pattern compression), :mod:`.model`
(the fitted model, storage and assignment), :mod:`.fit` (starts and model selection) and
:mod:`.analyst_csv` (CSV in, summary out). Import from here.
"""

from careweave.population.lca.analyst_csv import fit_csv, read_categorical_csv
from careweave.population.lca.fit import fit_lca, select_classes
from careweave.population.lca.model import MODEL_FORMAT, LCAModel
from careweave.population.lca.patterns import distinct_patterns

__all__ = [
    "MODEL_FORMAT",
    "LCAModel",
    "distinct_patterns",
    "fit_csv",
    "fit_lca",
    "read_categorical_csv",
    "select_classes",
]

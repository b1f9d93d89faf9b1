"""poLCA's `carcinoma` example: the data and its published maximum-likelihood fits."""

# Dichotomous ratings (1 = carcinoma) by seven pathologists, A-G, of 118 slides of the uterine cervix:
# the 20 observed patterns and their counts. Holmquist, McMahan & Williams (1967), Arch. Pathol.
# 84:334; tabulated by Landis & Koch (1977), Biometrics 33:363, and Agresti (2002), Categorical Data
# Analysis, 2nd ed., Table 13.1; poLCA's `carcinoma` data set. Published facts, held here as counts.
CARCINOMA = {
    "0000000": 34, "0000100": 2, "0100000": 6, "0100001": 1, "0100100": 4,
    "0100101": 5, "1000000": 2, "1010101": 1, "1100000": 2, "1100001": 1,
    "1100100": 2, "1100101": 7, "1100111": 1, "1101001": 1, "1101101": 2,
    "1101111": 3, "1110101": 13, "1110111": 5, "1111101": 10, "1111111": 16,
}  # fmt: skip
# poLCA's documented log-likelihoods (?carcinoma, poLCA 1.4.1-1.6.0.1): nclass 2, 3 and 4 (nrep=10).
POLCA_CARCINOMA_LOGLIK = {2: -317.2568, 3: -293.705, 4: -289.2858}

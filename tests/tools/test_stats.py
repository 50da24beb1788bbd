"""Statistics tools against SciPy (computed independently here) and textbook numbers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats as st

from mltutor.tools.errors import LimitExceeded, ToolError
from mltutor.tools.limits import ToolLimits
from mltutor.tools.registry import run_tool

A = [5.1, 4.9, 6.2, 5.8, 6.0, 5.5, 5.3, 6.1]
B = [4.8, 5.0, 5.1, 4.7, 5.2, 4.9, 5.3, 4.6]


def run(name: str, **args: Any) -> Any:
    return run_tool(name, args)


# -- z test ----------------------------------------------------------------------------------------


def test_z_test_mean_known_sigma() -> None:
    out = run("z_test", sample_mean=103, sigma=15, n=36, mu0=100)
    assert out.statistic == pytest.approx(1.2)
    assert out.p_value == pytest.approx(2 * st.norm.sf(1.2))  # 0.2301
    assert not out.reject_null and out.critical_value == pytest.approx(1.959964, abs=1e-6)


def test_z_test_one_sided() -> None:
    out = run("z_test", sample_mean=103, sigma=15, n=36, mu0=100, alternative="greater")
    assert out.p_value == pytest.approx(st.norm.sf(1.2))
    assert out.critical_value == pytest.approx(1.644854, abs=1e-6)


def test_z_test_two_proportions_pooled() -> None:
    out = run(
        "z_test", kind="two_proportions", successes_a=100, n_a=1000, successes_b=130, n_b=1000
    )
    pooled = 230 / 2000
    z = 0.03 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert out.statistic == pytest.approx(z) and out.p_value == pytest.approx(2 * st.norm.sf(z))
    assert out.reject_null


def test_z_test_one_proportion() -> None:
    out = run("z_test", kind="one_proportion", successes=60, n=100, p0=0.5)
    assert out.statistic == pytest.approx(2.0)
    assert out.p_value == pytest.approx(0.0455, abs=1e-4)


def test_z_test_missing_fields() -> None:
    with pytest.raises(ToolError, match="needs sample_mean, sigma"):
        run("z_test", n=10)
    with pytest.raises(ToolError, match="cannot exceed"):
        run("z_test", kind="one_proportion", successes=11, n=10)
    with pytest.raises(ToolError, match="sigma: Input should be greater than 0"):
        run("z_test", sample_mean=1, sigma=-1, n=3)


# -- t test ----------------------------------------------------------------------------------------


def test_t_test_one_sample_matches_scipy() -> None:
    out = run("t_test", a=A, mu0=5.0)
    ref = st.ttest_1samp(A, 5.0)
    assert out.statistic == pytest.approx(ref.statistic) and out.p_value == pytest.approx(
        ref.pvalue
    )
    assert out.df == len(A) - 1


@pytest.mark.parametrize(("kind", "equal_var"), [("welch", False), ("pooled", True)])
def test_t_test_two_sample_matches_scipy(kind: str, equal_var: bool) -> None:
    out = run("t_test", kind=kind, a=A, b=B)
    ref = st.ttest_ind(A, B, equal_var=equal_var)
    assert out.statistic == pytest.approx(ref.statistic) and out.p_value == pytest.approx(
        ref.pvalue
    )


def test_t_test_paired_and_one_sided_match_scipy() -> None:
    out = run("t_test", kind="paired", a=A, b=B, alternative="greater")
    ref = st.ttest_rel(A, B, alternative="greater")
    assert out.statistic == pytest.approx(ref.statistic) and out.p_value == pytest.approx(
        ref.pvalue
    )


def test_t_test_from_summary_statistics() -> None:
    out = run("t_test", kind="welch", mean_a=10.0, sd_a=2.0, n_a=30, mean_b=9.0, sd_b=3.0, n_b=25)
    ref = st.ttest_ind_from_stats(10.0, 2.0, 30, 9.0, 3.0, 25, equal_var=False)
    assert out.p_value == pytest.approx(ref.pvalue)


def test_t_test_bad_input() -> None:
    with pytest.raises(ToolError, match="give sample b or all of mean_b"):
        run("t_test", kind="welch", a=A)
    with pytest.raises(ToolError, match="equal length"):
        run("t_test", kind="paired", a=A, b=B[:-1])
    with pytest.raises(ToolError, match="standard error is zero"):
        run("t_test", a=[1.0, 1.0, 1.0])


# -- intervals ---------------------------------------------------------------------------------------


def test_t_confidence_interval_matches_scipy() -> None:
    out = run("confidence_interval", data=A, confidence=0.95)
    lo, hi = st.t.interval(0.95, len(A) - 1, loc=np.mean(A), scale=st.sem(A))
    assert (out.lower, out.upper) == pytest.approx((lo, hi))


def test_z_interval_textbook() -> None:
    out = run("confidence_interval", mean=100, sigma=15, n=25)
    assert (out.lower, out.upper) == pytest.approx((100 - 1.959964 * 3, 100 + 1.959964 * 3))


def test_proportion_intervals() -> None:
    wald = run("confidence_interval", kind="proportion", successes=40, n=100, method="wald")
    half = 1.959964 * math.sqrt(0.4 * 0.6 / 100)
    assert (wald.lower, wald.upper) == pytest.approx((0.4 - half, 0.4 + half), abs=1e-6)
    wilson = run("confidence_interval", kind="proportion", successes=40, n=100)
    ref = st.binomtest(40, 100).proportion_ci(0.95, method="wilson")
    assert (wilson.lower, wilson.upper) == pytest.approx((ref.low, ref.high))


def test_bootstrap_ci_matches_scipy_with_same_seed() -> None:
    data = [2.1, 3.4, 1.9, 5.6, 4.4, 3.3, 2.8, 4.9, 3.7, 6.1, 2.2, 3.9]
    out = run(
        "bootstrap_ci", data=data, statistic="median", method="percentile", seed=3, n_resamples=2000
    )
    ref = st.bootstrap(
        (np.array(data),),
        np.median,
        n_resamples=2000,
        method="percentile",
        rng=np.random.default_rng(3),
    )
    assert out.lower == pytest.approx(ref.confidence_interval.low)
    assert out.upper == pytest.approx(ref.confidence_interval.high)
    assert out.estimate == pytest.approx(float(np.median(data)))


def test_bootstrap_limits() -> None:
    with pytest.raises(LimitExceeded, match="50 million"):
        run("bootstrap_ci", data=[1.0] * 1000, n_resamples=100_000)
    with pytest.raises(ToolError, match="n_resamples"):
        run("bootstrap_ci", data=[1.0, 2.0], n_resamples=10**7)


# -- A/B sample size ---------------------------------------------------------------------------------


def test_ab_sample_size_textbook() -> None:
    # (1.96 + 0.8416)² · 2 · 0.1 · 0.9 / 0.02² = 3531.99… → 3532 per group
    out = run("ab_sample_size", baseline_rate=0.1, minimum_detectable_effect=0.02)
    za, zb = st.norm.ppf(0.975), st.norm.ppf(0.8)
    assert out.n_per_group == math.ceil((za + zb) ** 2 * 0.18 / 0.02**2) == 3532
    assert out.total == 7064
    rel = run("ab_sample_size", baseline_rate=0.1, minimum_detectable_effect=0.2, relative=True)
    assert rel.n_per_group == 3532 and rel.delta == pytest.approx(0.02)


def test_ab_sample_size_bad_input() -> None:
    with pytest.raises(ToolError, match="baseline_rate"):
        run("ab_sample_size", baseline_rate=1.5, minimum_detectable_effect=0.1)
    with pytest.raises(ToolError, match="not below 1"):
        run("ab_sample_size", baseline_rate=0.95, minimum_detectable_effect=0.1)


# -- multiple testing / FWER -------------------------------------------------------------------------


def test_multiple_testing_three_methods() -> None:
    p = [0.01, 0.04, 0.03, 0.005]
    out = run("multiple_testing", p_values=p, alpha=0.05)
    res = {r.method: r for r in out.results}
    assert res["bonferroni"].adjusted_p_values == pytest.approx([0.04, 0.16, 0.12, 0.02])
    assert res["holm"].adjusted_p_values == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert res["holm"].reject == [True, False, False, True]
    assert res["bh"].adjusted_p_values == pytest.approx(st.false_discovery_control(p).tolist())
    assert res["bh"].n_rejected == 4


def test_bh_step_up_rejects_beyond_first_failure() -> None:
    # p_(1) = 0.03 > 0.05/3, but p_(3) = 0.04 ≤ 3·0.05/3: step-up rejects all three
    out = run("multiple_testing", p_values=[0.04, 0.03, 0.035], methods=["bh"])
    assert out.results[0].reject == [True, True, True]


def test_multiple_testing_bad_input() -> None:
    with pytest.raises(ToolError, match=r"\[0, 1\]"):
        run("multiple_testing", p_values=[0.5, 1.2])
    with pytest.raises(ToolError, match="methods"):
        run("multiple_testing", p_values=[0.5], methods=["sidak"])


def test_fwer() -> None:
    out = run("fwer", alpha=0.05, m=20)
    assert out.fwer == pytest.approx(1 - 0.95**20)  # 0.6415
    assert out.bonferroni_alpha == pytest.approx(0.0025)
    assert 1 - (1 - out.sidak_alpha) ** 20 == pytest.approx(0.05)


# -- measures ----------------------------------------------------------------------------------------


def test_vif() -> None:
    out = run("vif", r_squared=[0.5, 0.85, 0.95])
    assert out.vif == pytest.approx([2.0, 1 / 0.15, 20.0])
    assert out.flags == ["ok", "moderate", "high"]
    with pytest.raises(ToolError, match=r"\[0, 1\)"):
        run("vif", r_squared=[1.0])


def test_distribution_measures_against_scipy() -> None:
    p, q = [0.5, 0.3, 0.2], [0.4, 0.4, 0.2]
    out = run("distribution_measures", p=p, q=q)
    assert out.entropy_p == pytest.approx(st.entropy(p))
    assert out.kl_pq == pytest.approx(st.entropy(p, q))
    assert out.kl_qp == pytest.approx(st.entropy(q, p))
    assert out.cross_entropy == pytest.approx(st.entropy(p) + st.entropy(p, q))
    assert out.gini_p == pytest.approx(1 - (0.25 + 0.09 + 0.04))
    m = np.add(p, q) / 2
    assert out.js_divergence == pytest.approx(0.5 * st.entropy(p, m) + 0.5 * st.entropy(q, m))


def test_distribution_measures_bits_and_infinite_kl() -> None:
    out = run("distribution_measures", p=[0.5, 0.5], q=[1.0, 0.0], unit="bits")
    assert out.entropy_p == pytest.approx(1.0)
    assert out.kl_pq is None and out.cross_entropy is None
    assert out.kl_qp == pytest.approx(1.0)
    assert any("infinite" in n for n in out.notes)


def test_distribution_measures_bad_input() -> None:
    with pytest.raises(ToolError, match=r"sums to 0\.9"):
        run("distribution_measures", p=[0.5, 0.4])
    assert run("distribution_measures", p=[2, 2], normalize=True).entropy_p == pytest.approx(
        math.log(2)
    )
    with pytest.raises(ToolError, match="has 2 entries but q has 3"):
        run("distribution_measures", p=[0.5, 0.5], q=[0.2, 0.3, 0.5])
    with pytest.raises(ToolError, match="non-negative"):
        run("distribution_measures", p=[1.5, -0.5])


def test_jl_dimension() -> None:
    out = run("jl_dimension", n_points=1_000_000, epsilon=0.5, original_dimension=10_000)
    bound = 4 * math.log(1e6) / (0.5**2 / 2 - 0.5**3 / 3)
    assert out.bound == pytest.approx(bound) and out.k == math.ceil(bound) == 664
    assert out.reduces
    with pytest.raises(ToolError, match="epsilon"):
        run("jl_dimension", n_points=100, epsilon=1.5)


def test_chinchilla() -> None:
    out = run("chinchilla", params=70e9)
    assert out.tokens == pytest.approx(1.4e12) and out.compute_flops == pytest.approx(5.88e23)
    back = run("chinchilla", compute_flops=5.88e23)
    assert back.params == pytest.approx(70e9) and back.tokens == pytest.approx(1.4e12)
    with pytest.raises(ToolError, match="exactly one"):
        run("chinchilla", params=1e9, compute_flops=1e20)


def test_list_limit_applies_to_statistics() -> None:
    with pytest.raises(LimitExceeded, match="over 10"):
        run_tool("multiple_testing", {"p_values": [0.5] * 11}, limits=ToolLimits(max_list_len=10))

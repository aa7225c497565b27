"""Why accuracy misleads on a rare class: a screening test seen through Bayes' rule.

A disease affects 0.5% of a population. A blood marker is higher in sick people, and the
test calls "positive" when the marker exceeds a threshold. We

1. show that the useless rule "nobody is sick" scores 99.5% accuracy;
2. pick the threshold on a validation set (F1, or Youden's J = sensitivity + specificity - 1);
3. read the test on the held-out set: confusion matrix, sensitivity, specificity,
   precision, F1, MCC, ROC AUC, average precision;
4. check Bayes' rule: with that sensitivity and specificity at this prevalence,
   P(sick | positive) is far below what the accuracy suggests - most positives are false
   alarms - and it climbs when the same test is used where the disease is common.

Run:  python examples/rare_disease.py  [--prevalence 0.005] [--n 200000] [--seed 0]
"""
from __future__ import annotations

import argparse

import numpy as np

from deepsheet import metrics
from deepsheet.preprocessing import bayes_posterior, select_threshold, train_test_split


def population(n, prevalence, rng):
    """Labels (1 = sick) and a marker: N(0, 1) in healthy people, N(2.5, 1) in sick ones."""
    sick = (rng.random(n) < prevalence).astype(np.int64)
    marker = rng.normal(0.0, 1.0, n) + 2.5 * sick
    return marker, sick


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prevalence", type=float, default=0.005)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    marker, sick = population(args.n, args.prevalence, rng)
    m_val, m_test, y_val, y_test = train_test_split(marker, sick, test_size=0.5,
                                                    stratify=sick, seed=args.seed)
    print(f"prevalence {y_test.mean():.3%} on {len(y_test):,} test people "
          f"({int(y_test.sum())} sick)\n")

    nobody = np.zeros_like(y_test)
    print("rule 'nobody is sick':")
    print(f"  accuracy {metrics.accuracy_score(y_test, nobody):.4f}   "
          f"recall {metrics.recall_score(y_test, nobody):.2f}   "
          f"F1 {metrics.f1_score(y_test, nobody, zero_division=0):.2f}   "
          f"MCC {metrics.matthews_corrcoef(y_test, nobody):.2f}\n")

    for criterion in ("youden", "f1"):
        t, value = select_threshold(y_val, m_val, criterion=criterion)
        y_hat = (m_test >= t).astype(np.int64)
        sens = metrics.recall_score(y_test, y_hat)
        spec = metrics.specificity_score(y_test, y_hat)
        ppv = metrics.precision_score(y_test, y_hat)
        print(f"threshold by {criterion} on validation: marker >= {t:.2f} ({criterion} = {value:.3f})")
        print("  confusion matrix [[TN FP] [FN TP]]:",
              metrics.confusion_matrix(y_test, y_hat).tolist())
        print(f"  accuracy {metrics.accuracy_score(y_test, y_hat):.4f}   "
              f"sensitivity {sens:.3f}   specificity {spec:.4f}")
        print(f"  precision = P(sick | +) {ppv:.3f}   F1 {metrics.f1_score(y_test, y_hat):.3f}   "
              f"MCC {metrics.matthews_corrcoef(y_test, y_hat):.3f}")
        post_pos, post_neg = bayes_posterior(args.prevalence, sens, spec)
        print(f"  Bayes: P(sick | +) = {post_pos:.3f} (measured {ppv:.3f}),  "
              f"P(sick | -) = {post_neg:.5f}\n")

    print("ranking quality, threshold-free:")
    print(f"  ROC AUC {metrics.roc_auc_score(y_test, m_test):.4f}   average precision "
          f"{metrics.average_precision_score(y_test, m_test):.4f} (chance level = prevalence)\n")

    t, _ = select_threshold(y_val, m_val, criterion="youden")
    y_hat = (m_test >= t).astype(np.int64)
    sens = metrics.recall_score(y_test, y_hat)
    spec = metrics.specificity_score(y_test, y_hat)
    print("the same test (Youden threshold) at other prevalences, by Bayes' rule:")
    for prevalence in (0.001, 0.005, 0.05, 0.2, 0.5):
        pos, neg = bayes_posterior(prevalence, sens, spec)
        print(f"  prevalence {prevalence:6.1%}:  P(sick | +) = {pos:6.1%}   "
              f"P(sick | -) = {neg:.4%}")


if __name__ == "__main__":
    main()

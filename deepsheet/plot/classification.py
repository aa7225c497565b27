"""Classifier pictures: confusion matrix, ROC and precision-recall curves, decision boundary."""
from __future__ import annotations

import numpy as np

from ._base import axes, host, names_for

__all__ = ["confusion_matrix", "roc_curve", "precision_recall_curve", "decision_boundary"]


def confusion_matrix(y_true, y_pred, *, labels=None, class_names=None, normalize=None,
                     ax=None, cmap="Blues"):
    """The confusion matrix as a heat map: rows the true class, columns the predicted one.

    Formula
    -------
        C[i, j] = #{samples of class i predicted as j};  normalize="true": C[i, j] / Σ_j C[i, j]
        (the diagonal is then each class's recall), "pred": / Σ_i C[i, j] (precision), "all": / N

    Parameters
    ----------
    y_true, y_pred : array of labels
    labels : list, optional
        Classes and their order (default: the sorted labels present).
    class_names : list of str, optional
        Tick names in the order of ``labels``.
    normalize : {None, "true", "pred", "all"}
        Colour by the normalized matrix and write each cell as "count\\n(xx%)"; None colours
        and writes the counts.

    Returns
    -------
    matplotlib.figure.Figure
        The image's array is the matrix drawn (counts, or the normalized one).
    """
    from .. import metrics
    counts = metrics.confusion_matrix(y_true, y_pred, labels=labels)
    shown = counts if normalize is None else metrics.confusion_matrix(
        y_true, y_pred, labels=labels, normalize=normalize)
    n = counts.shape[0]
    if labels is None:
        present = np.unique(np.concatenate([host(y_true).ravel(), host(y_pred).ravel()]))
        names = [str(v) for v in present] if class_names is None else class_names
    else:
        names = [str(v) for v in labels] if class_names is None else class_names
    names = names_for(names, n)
    size = max(4.0, 0.55 * n + 2.0)
    fig, ax = axes(ax, (size + 1.0, size))
    image = ax.imshow(shown, cmap=cmap, interpolation="nearest",
                      vmin=0.0, vmax=max(float(np.max(shown)), 1e-12))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    dark = float(np.max(shown)) / 2.0
    fontsize = 9 if n <= 10 else 6
    for i in range(n):
        for j in range(n):
            text = f"{counts[i, j]:g}" if normalize is None else \
                f"{counts[i, j]:g}\n({100 * shown[i, j]:.0f}%)"
            ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                    color="white" if shown[i, j] > dark else "black")
    ax.set_xticks(range(n))
    ax.set_xticklabels(names, rotation=45 if max(map(len, names)) > 3 else 0, ha="right"
                       if max(map(len, names)) > 3 else "center")
    ax.set_yticks(range(n))
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix" + ("" if normalize is None else f" (normalized: {normalize})"))
    if fig.get_axes() == [ax, image.colorbar.ax]:
        fig.tight_layout()   # rotated class names must not push the axis label off the figure
    return fig


def _one_vs_rest(y_true, y_score, pos_label, class_names=None):
    """[(label, binary labels, scores)]: one entry for binary scores, one per class for (N, K);
    the label is the class's name when ``class_names`` has it."""
    parts = _split_scores(y_true, y_score, pos_label)
    names = None if class_names is None else [str(n) for n in class_names]
    return [(names[int(k)] if names is not None and k.isdigit() and int(k) < len(names) else k,
             yt, s) for k, yt, s in parts]


def _split_scores(y_true, y_score, pos_label):
    y_true = host(y_true, "y_true").ravel()
    y_score = host(y_score, "y_score", np.float64)
    if y_score.ndim == 2 and y_score.shape[1] == 1:
        y_score = y_score[:, 0]
    if y_score.ndim == 1 or (y_score.ndim == 2 and y_score.shape[1] == 2
                             and len(np.unique(y_true)) <= 2):
        scores = y_score if y_score.ndim == 1 else y_score[:, 1]
        classes = np.unique(y_true)
        pos = pos_label if pos_label is not None else classes.max()
        if len(scores) != len(y_true):
            raise ValueError(f"y_true has {len(y_true)} samples, y_score {len(scores)}")
        return [(str(pos), (y_true == pos).astype(int), scores)]
    if y_score.ndim != 2 or y_score.shape[0] != len(y_true):
        raise ValueError(f"y_score must be (n_samples,) or (n_samples, n_classes) with "
                         f"n_samples = {len(y_true)}, got shape {y_score.shape}")
    return [(str(k), (y_true == k).astype(int), y_score[:, k]) for k in range(y_score.shape[1])
            if 0 < (y_true == k).sum() < len(y_true)]


def roc_curve(y_true, y_score, *, class_names=None, pos_label=None, ax=None):
    """ROC curve(s) with the area under each in the legend.

    Binary scores (N,) draw one curve; an (N, K) score matrix draws one curve per class,
    one-vs-rest (class k positive, every other class negative), labels being 0..K−1.

    Formula
    -------
        TPR(t) = TP(t) / (TP(t) + FN(t)),  FPR(t) = FP(t) / (FP(t) + TN(t)) for each threshold t;
        AUC = ∫ TPR d(FPR)  (0.5 = chance, 1 = perfect ranking)

    Returns
    -------
    matplotlib.figure.Figure
        One line per curve (x = FPR, y = TPR) then the dashed chance diagonal.
    """
    from .. import metrics
    _, ax = axes(ax, (4.8, 4.5))
    parts = _one_vs_rest(y_true, y_score, pos_label, class_names)
    for label, yt, s in parts:
        fpr, tpr, _ = metrics.roc_curve(yt, s)
        ax.plot(fpr, tpr, lw=1.5, label=f"{label} (AUC = {metrics.auc(fpr, tpr):.3f})")
    ax.plot([0, 1], [0, 1], "--", color="0.5", lw=1, label="chance (AUC = 0.5)")
    return _finish_curves(ax, len(parts), "ROC curve", "false positive rate",
                          "true positive rate", "lower right")


def _finish_curves(ax, n, title, xlabel, ylabel, legend_at):
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.05)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title + (" (one-vs-rest)" if n > 1 else ""))
    ax.grid(alpha=0.3)
    ax.legend(loc=legend_at, fontsize=7 if n > 4 else 9)
    return ax.figure


def precision_recall_curve(y_true, y_score, *, class_names=None, pos_label=None, ax=None):
    """Precision-recall curve(s) with the average precision in the legend.

    Formula
    -------
        P(t) = TP / (TP + FP),  R(t) = TP / (TP + FN);  AP = Σ_n (R_n − R_{n−1}) P_n

    Returns
    -------
    matplotlib.figure.Figure
        One step line per curve (x = recall, y = precision); for a single curve, the dotted
        line of a random classifier's precision (the positive rate).
    """
    from .. import metrics
    _, ax = axes(ax, (4.8, 4.5))
    parts = _one_vs_rest(y_true, y_score, pos_label, class_names)
    for label, yt, s in parts:
        precision, recall, _ = metrics.precision_recall_curve(yt, s)
        ap = metrics.average_precision_score(yt, s)
        ax.plot(recall, precision, drawstyle="steps-post", lw=1.5, label=f"{label} (AP = {ap:.3f})")
    if len(parts) == 1:
        rate = float(parts[0][1].mean())
        ax.axhline(rate, ls=":", color="0.5", label=f"chance (precision = {rate:.2f})")
    return _finish_curves(ax, len(parts), "precision-recall curve", "recall", "precision",
                          "lower left")


def _predict(model, points):
    """Class index per point from a deepsheet model, a scikit-learn estimator or a callable."""
    if hasattr(model, "predict_proba"):
        out = model.predict_proba(points)
    elif hasattr(model, "predict") and hasattr(model, "layers"):
        out = model.predict(points.astype(np.float32), verbose=0)
    elif hasattr(model, "predict"):
        out = model.predict(points)
    elif callable(model):
        out = model(points.astype(np.float32))
    else:
        raise TypeError(f"decision_boundary needs a model with predict() or a callable, got "
                        f"{type(model).__name__}")
    out = host(out[0] if isinstance(out, list) else out, "predictions")
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim == 2:
        return out.argmax(axis=1)
    if np.issubdtype(out.dtype, np.floating) and not np.all(out == np.round(out)):
        return (out > 0.5).astype(int)  # probabilities of the positive class
    return out.astype(int)


def decision_boundary(model, x, y=None, *, class_names=None, resolution=200, margin=0.5,
                      ax=None, cmap="tab10"):
    """The regions where a classifier predicts each class, over 2-D data, with the points on top.

    Parameters
    ----------
    model : Model, estimator or callable
        A deepsheet model (``predict``), a scikit-learn classifier (``predict_proba`` or
        ``predict``) or a function of an (M, 2) array returning labels, probabilities of the
        positive class (M,), or scores (M, K).
    x : array (N, 2)
        The data; the grid spans its range plus ``margin``.
    y : array (N,), optional
        True labels, to colour the points.
    resolution : int
        Grid points per axis.

    Returns
    -------
    matplotlib.figure.Figure
        A filled contour of the predicted class and a scatter of the points.
    """
    x = host(x, "x", np.float64)
    if x.ndim != 2 or x.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D data: x must be (n_samples, 2), got "
                         f"shape {x.shape}")
    if not isinstance(resolution, int) or resolution < 2:
        raise ValueError(f"resolution must be an integer >= 2, got {resolution!r}")
    lo, hi = x.min(axis=0) - margin, x.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution),
                         np.linspace(lo[1], hi[1], resolution))
    labels = _predict(model, np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
    k = int(max(labels.max(), -1 if y is None else host(y).max())) + 1
    fig, ax = axes(ax, (5.0, 4.5))
    levels = np.arange(-0.5, k + 0.5)
    ax.contourf(gx, gy, labels, levels=levels, cmap=cmap, alpha=0.3, vmin=0, vmax=9.5)
    if k > 1:
        ax.contour(gx, gy, labels, levels=levels[1:-1], colors="k", linewidths=0.8)
    if y is not None:
        y = host(y).ravel().astype(int)
        names = names_for(class_names, k)
        for c in np.unique(y):
            pts = x[y == c]
            ax.scatter(pts[:, 0], pts[:, 1], s=12, edgecolors="k", linewidths=0.3,
                       color=_colour(cmap, c), label=names[c])
        ax.legend(loc="best", fontsize=8)
    else:
        ax.scatter(x[:, 0], x[:, 1], s=10, color="k")
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title("decision boundary")
    return fig


def _colour(cmap, c):
    from ._base import pyplot
    return pyplot().get_cmap(cmap)((int(c) % 10) / 9.5)

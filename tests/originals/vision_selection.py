"""An independent, step-by-step re-statement of the original vision-selection evaluator (main.py + eval.py +
utils.py of CoactiveAI/dataperf-vision-selection), with pandas in place of Spark, for parity tests.

Per concept: read the whole pool parquet (file or Spark folder); read the training CSV with every column as
text (Spark reads CSV without schema inference); inner-join it to the pool on ImageID (unknown ids vanish,
repeated rows stay); fit LogisticRegression(random_state=0) on the list of embeddings and the text labels;
predict the test set; accuracy, and recall / precision / F1 with pos_label='1'.
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score
from threadpoolctl import threadpool_limits


def original_scores(pool_path: Path, train_csv: Path, test_parquet: Path) -> dict:
    emb_df = pd.read_parquet(pool_path, engine="pyarrow", columns=["ImageID", "embedding"])
    train_df = pd.read_csv(train_csv, dtype=str, keep_default_na=False)
    train_df = train_df.merge(emb_df, on="ImageID", how="inner")
    test_df = pd.read_parquet(test_parquet, engine="pyarrow")
    X = [list(v) for v in train_df["embedding"]]
    y = list(train_df["Confidence"])
    X_test = [list(v) for v in test_df["embedding"]]
    y_test = [str(v) for v in test_df["Confidence"]]
    with warnings.catch_warnings(), threadpool_limits(limits=1):   # as the evaluator: core-count independent
        warnings.simplefilter("ignore")
        clf = LogisticRegression(random_state=0).fit(np.array(X), y)
        y_pred = clf.predict(np.array(X_test))
        return {"accuracy": accuracy_score(y_test, y_pred),
                "recall": recall_score(y_test, y_pred, pos_label="1"),
                "precision": precision_score(y_test, y_pred, pos_label="1"),
                "f1": f1_score(y_test, y_pred, pos_label="1")}

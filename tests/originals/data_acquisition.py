"""An independent, naive re-statement of the organisers' repository evaluator (evaluator_submission.py),
for parity tests of `evaluate.compat: true`.

Per market (config order) and trial (10), everything is reloaded with numpy.loadtxt as the original's
get_market_info does; the submission is read with numpy.loadtxt(delimiter=",", dtype=int); the cost is
sum(max_p * n / N); the budget is 1e10 (the check is off); each seller's rows come from
numpy.random.choice(N, size=n, replace=True) on the global generator, seeded once with 1111 when seller.py
is imported; LogisticRegression(random_state=0) is fitted and scored on the buyer's data; accuracy and cost are
averaged over the trials.  The one deliberate difference: sellers in numeric id order (the original's glob
order is whatever the file system returns).
"""
from __future__ import annotations

import glob
import warnings
from pathlib import Path

import numpy
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits


def original_evaluate(marketinfo: Path, features: Path, submission_dir: Path, instance_ids, num_trial: int = 10,
                      suffix: str = ".txt") -> dict:
    numpy.random.seed(1111)
    result = {}
    for k in instance_ids:
        accs, costs = [], []
        for _ in range(num_trial):
            paths = sorted(glob.glob(f"{features}/{k}/*.csv"), key=lambda p: int(Path(p).stem))
            seller_data = [numpy.loadtxt(p, delimiter=",") for p in paths]
            prices = numpy.loadtxt(f"{marketinfo}/{k}/price/price.txt", delimiter=",", dtype=str)
            buyer = numpy.loadtxt(f"{marketinfo}/{k}/data_buyer/20.csv", delimiter=",")
            submission = numpy.loadtxt(f"{submission_dir}/{k}{suffix}", delimiter=",", dtype=int)
            cost = sum(float(prices[i][1]) * (submission[i] / len(seller_data[i])) for i in range(len(submission)))
            traindata = None
            for i in range(len(seller_data)):
                rows = numpy.random.choice(seller_data[i].shape[0], size=submission[i], replace=True)
                d1 = seller_data[i][rows, :]
                traindata = d1 if i == 0 else numpy.concatenate((traindata, d1))
            model = LogisticRegression(random_state=0)
            with warnings.catch_warnings(), threadpool_limits(limits=1):  # as the evaluator: core-count independent
                warnings.simplefilter("ignore")
                model.fit(traindata[:, 0:-1], numpy.ravel(traindata[:, -1]))
            accs.append(model.score(buyer[:, 0:-1], buyer[:, -1]))
            costs.append(cost)
        result[k] = {"cost": sum(c / num_trial for c in costs), "acc": sum(a / num_trial for a in accs)}
    return result

"""An example closed-division algorithm for data_acquisition: buy whole sellers whose label correlations look most
like the buyer's, best first, while the budget lasts.

Replace the class with your own; keep the base class and the method's contract (data_acquisition/algorithm.py).
"""
import numpy as np

from data_acquisition.algorithm import Strategy
from data_acquisition.data import label_correlations


class CorrelationMatch(Strategy):
    name = "correlation_match"

    def purchase(self, market):
        buyer = np.array([v or 0.0 for v in label_correlations(market.buyer_x, market.buyer_y)])
        similarity = []
        for summary in market.summaries:
            values = summary["label_correlation"]
            seller = np.array([values.get(str(j)) or 0.0 for j in range(len(buyer))])
            norm = np.linalg.norm(buyer) * np.linalg.norm(seller)
            similarity.append(float(buyer @ seller / norm) if norm else 0.0)
        counts, money = [0] * market.sellers, market.budget
        for seller in np.argsort(-np.array(similarity), kind="stable"):
            if similarity[seller] <= 0:
                break
            counts[seller] = market.affordable(int(seller), money)
            money -= market.cost([counts[i] if i == seller else 0 for i in range(market.sellers)])
        return counts

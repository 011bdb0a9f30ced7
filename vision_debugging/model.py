"""The frozen evaluation model of the vision-debugging challenge.

A factorised logistic model (2048 -> 128 -> 1, no activation) trained from the same
initialisation every time (torch seed 42) with AdamW(lr=0.01, weight_decay=0.9) for 20
epochs of unshuffled batches of 64, then a decision threshold picked on the training
set.  Accuracy is rounded to two decimals, as in the original evaluator.

Exact shortcuts against the original (same numbers, less work): batches are contiguous
slices instead of a DataLoader (identical tensors), and the threshold search runs the
forward pass once instead of once per candidate threshold.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

SEED = 42
HIDDEN = 128
EPOCHS = 20
LEARNING_RATE = 0.01
WEIGHT_DECAY = 0.9
BATCH_SIZE = 64
# np.arange(0.1, 1, 0.05): the original's 18 candidate thresholds, float64 as it made them.
THRESHOLDS = np.arange(0.1, 1, 0.05)


class LinearModel(nn.Module):
    """Two stacked linear layers; creation order fixes how the seed is consumed."""

    def __init__(self, in_features: int):
        super().__init__()
        self.fc1 = nn.Linear(in_features, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(x))


def rounded_accuracy(predictions: np.ndarray, labels: np.ndarray) -> float:
    """Mean agreement rounded like the original (numpy's round, two decimals)."""
    return rounded_share(predictions == np.asarray(labels).ravel())


def rounded_share(correct: np.ndarray) -> float:
    """The accuracy of per-item correctness, rounded like the original: on any subset of the test items it is the
    accuracy the same model scores with those items as the test set."""
    return float(np.round(np.mean(correct), 2))


def binarise(probabilities: np.ndarray, threshold: float) -> np.ndarray:
    """The original's two-step thresholding, kept bit for bit.

    It first zeroes values <= threshold (compared in float32, as torch compares a tensor
    with a Python float) and then sets values > threshold (compared in float64 by numpy)
    to one.  A value between the two roundings of the threshold stays as it is and so
    matches neither label; the original behaves the same way.
    """
    p = probabilities
    out = np.where(p <= np.float32(threshold), np.float32(0), p)
    return np.where(out > threshold, np.float32(1), out)


class FrozenClassifier:
    """Train once on (x, y) and score accuracy the way the challenge does."""

    def __init__(self, device: str = "cpu"):
        self.device = torch.device(device)
        self.threshold = 0.5
        self.model: LinearModel | None = None

    def fit(self, x: np.ndarray | torch.Tensor, y: np.ndarray) -> "FrozenClassifier":
        features = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        targets = torch.as_tensor(np.asarray(y, dtype=np.float32).reshape(-1, 1), device=self.device)
        torch.manual_seed(SEED)
        model = LinearModel(features.shape[1])
        model.to(self.device)
        criterion = nn.BCEWithLogitsLoss()
        optimiser = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
        model.train(True)
        n = features.shape[0]
        for _ in range(EPOCHS):
            for start in range(0, n, BATCH_SIZE):
                xb = features[start:start + BATCH_SIZE]
                yb = targets[start:start + BATCH_SIZE]
                optimiser.zero_grad()
                loss = criterion(model(xb).reshape(yb.shape), yb)
                loss.backward()
                optimiser.step()
        self.model = model
        # Threshold search on the training labels: first candidate with strictly better accuracy.
        probabilities = self.predict_proba(features)
        best_accuracy, best_threshold = 0.0, 0.0
        for threshold in THRESHOLDS:
            accuracy = rounded_accuracy(binarise(probabilities, threshold), y)
            if accuracy > best_accuracy:
                best_accuracy, best_threshold = accuracy, threshold
        self.threshold = best_threshold
        return self

    def predict_proba(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        assert self.model is not None, "fit() first"
        features = torch.as_tensor(x, dtype=torch.float32, device=self.device)
        self.model.eval()
        with torch.no_grad():
            return torch.sigmoid(self.model(features)).cpu().numpy().ravel()

    def predict(self, x: np.ndarray | torch.Tensor) -> np.ndarray:
        return binarise(self.predict_proba(x), self.threshold)

    def accuracy(self, x: np.ndarray | torch.Tensor, y: np.ndarray) -> float:
        return rounded_accuracy(self.predict(x), y)


# ------------------------------------------------------------------ the evaluator's two training routes

def initial_parameters(in_features: int) -> list[torch.Tensor]:
    """fc1.weight, fc1.bias, fc2.weight, fc2.bias as FrozenClassifier.fit creates them (seed 42)."""
    torch.manual_seed(SEED)
    model = LinearModel(in_features)
    return [p.detach() for p in (model.fc1.weight, model.fc1.bias, model.fc2.weight, model.fc2.bias)]


def score_probabilities(train_probabilities: np.ndarray, train_labels: np.ndarray,
                        test_probabilities: np.ndarray, test_labels: np.ndarray) -> float:
    """FrozenClassifier's threshold search on the training labels, then its rounded test accuracy."""
    return rounded_share(item_correctness(train_probabilities, train_labels, test_probabilities, test_labels))


def item_correctness(train_probabilities: np.ndarray, train_labels: np.ndarray,
                     test_probabilities: np.ndarray, test_labels: np.ndarray) -> np.ndarray:
    """Per test item, whether FrozenClassifier's prediction (threshold searched on the training labels) is right."""
    best_accuracy, best_threshold = 0.0, 0.0
    for threshold in THRESHOLDS:
        accuracy = rounded_accuracy(binarise(train_probabilities, threshold), train_labels)
        if accuracy > best_accuracy:
            best_accuracy, best_threshold = accuracy, threshold
    return binarise(test_probabilities, best_threshold) == np.asarray(test_labels).ravel()


class ExactTrainer:
    """FrozenClassifier().fit(x, labels).accuracy(test) for many label vectors, bit for bit, in 0.6 of the time.

    It calls the ATen kernels that autograd and AdamW's single-tensor step call, on tensors of the
    same shapes, in the same order, with the same scalars, so every float is the same (the tests
    compare the trained weights bit for bit).  What it leaves out changes no number: the autograd
    graph, the optimizer's bookkeeping, the loss value (only its gradient is used), the gradient's
    multiplication by 1.0, and the allocation of the gradient and AdamW temporaries at every step.
    """

    BETAS = (0.9, 0.999)
    EPS = 1e-08

    def __init__(self, train_x: np.ndarray, test_x: np.ndarray, test_y: np.ndarray):
        self.x = torch.as_tensor(train_x, dtype=torch.float32)
        self.test_x = torch.as_tensor(test_x, dtype=torch.float32)
        self.test_y = np.asarray(test_y)
        self.starts = range(0, self.x.shape[0], BATCH_SIZE)

    def fit(self, labels: np.ndarray) -> list[torch.Tensor]:
        """The trained fc1.weight, fc1.bias, fc2.weight, fc2.bias."""
        targets = torch.as_tensor(np.asarray(labels, dtype=np.float32).reshape(-1, 1))
        params = [p.clone() for p in initial_parameters(self.x.shape[1])]
        w1, b1, w2, b2 = params
        w1_t, w2_t = w1.t(), w2.t()   # views: they follow the in-place updates
        grad_w1 = torch.empty_like(w1)
        exp_avgs = [torch.zeros_like(p) for p in params]
        exp_avg_sqs = [torch.zeros_like(p) for p in params]
        denoms = [torch.empty_like(p) for p in params]
        batches = [(self.x[s:s + BATCH_SIZE], targets[s:s + BATCH_SIZE]) for s in self.starts]
        beta1, beta2 = self.BETAS
        decay = 1 - LEARNING_RATE * WEIGHT_DECAY
        step = 0
        for _ in range(EPOCHS):
            for xb, yb in batches:
                # forward: nn.Linear twice (addmm with the transposed weight)
                hidden = torch.addmm(b1, xb, w1_t)
                logits = torch.addmm(b2, hidden, w2_t)
                # backward of BCEWithLogitsLoss(mean): (sigmoid(logit) - y) / batch, then AddmmBackward0
                grad_logits = torch.sigmoid(logits).sub_(yb).div_(xb.shape[0])
                grad_hidden = torch.mm(grad_logits, w2)
                grads = [None, grad_hidden.sum(0, True).view(b1.shape),
                         torch.mm(grad_logits.t(), hidden), grad_logits.sum(0, True).view(b2.shape)]
                grads[0] = torch.mm(grad_hidden.t(), xb, out=grad_w1)
                # AdamW, torch.optim's single-tensor step (decoupled weight decay, no amsgrad)
                step += 1
                step_size = LEARNING_RATE / (1 - beta1 ** float(step))
                bias_correction2_sqrt = (1 - beta2 ** float(step)) ** 0.5
                for p, g, m, v, d in zip(params, grads, exp_avgs, exp_avg_sqs, denoms):
                    p.mul_(decay)
                    m.lerp_(g, 1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    torch.sqrt(v, out=d)
                    d.div_(bias_correction2_sqrt).add_(self.EPS)
                    p.addcdiv_(m, d, value=-step_size)
        return params

    @staticmethod
    def probabilities(params: list[torch.Tensor], x: torch.Tensor) -> np.ndarray:
        w1, b1, w2, b2 = params
        return torch.sigmoid(torch.addmm(b2, torch.addmm(b1, x, w1.t()), w2.t())).numpy().ravel()

    def score(self, params: list[torch.Tensor], labels: np.ndarray) -> float:
        """Rounded test accuracy of trained weights, with the threshold searched on the training labels."""
        return rounded_share(self.correct(params, labels))

    def correct(self, params: list[torch.Tensor], labels: np.ndarray) -> np.ndarray:
        """Per test item, whether the trained weights predict it right (threshold from the training labels)."""
        return item_correctness(self.probabilities(params, self.x), labels,
                                self.probabilities(params, self.test_x), self.test_y)

    def accuracy(self, labels: np.ndarray) -> float:
        """Rounded test accuracy of the model trained on these training labels."""
        return rounded_share(self.correctness(labels))

    def correctness(self, labels: np.ndarray) -> np.ndarray:
        """Per test item, whether the model trained on these training labels predicts it right."""
        return self.correct(self.fit(labels), labels)


class BatchedTrainer:
    """The GPU route: K label states trained at once, as K copies of the model in stacked tensors.

    Same initialisation, batches, loss gradient and AdamW formulas as FrozenClassifier, but the
    matrix products of all K models are single products (x @ [W1_1; ...; W1_K]^T), whose sums run
    in another order: the weights differ from the exact route by rounding, so an accuracy can
    differ where a probability sits at a threshold.  The tests measure the agreement on CPU.
    """

    BYTES_PER_STATE_FACTOR = 8   # weights, two moments, gradient and temporaries of fc1, in float32

    def __init__(self, train_x: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, device: str = "cpu"):
        self.device = torch.device(device)
        self.x = torch.as_tensor(np.asarray(train_x, dtype=np.float32), device=self.device)
        self.test_x = torch.as_tensor(np.asarray(test_x, dtype=np.float32), device=self.device)
        self.test_y = np.asarray(test_y)
        self.init = [p.to(self.device) for p in initial_parameters(self.x.shape[1])]

    def states_per_batch(self, limit: int = 1024) -> int:
        """How many states fit at once: a quarter of the free device memory (CPU: 32)."""
        if self.device.type != "cuda":
            return 32
        free, _ = torch.cuda.mem_get_info(self.device)
        per_state = self.BYTES_PER_STATE_FACTOR * 4 * HIDDEN * self.x.shape[1]
        return int(max(1, min(limit, free // 4 // per_state)))

    def _forward(self, params: list[torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(hidden (K, n, H), logits (K, n)) of all K models on the same rows."""
        w1, b1, w2, b2 = params
        k = w1.shape[0]
        hidden = (x @ w1.reshape(k * HIDDEN, -1).t()).view(x.shape[0], k, HIDDEN).transpose(0, 1) + b1[:, None, :]
        return hidden, (hidden * w2).sum(-1) + b2

    def fit(self, labels: np.ndarray) -> list[torch.Tensor]:
        """Stacked parameters (K, ...) trained on the K label rows of `labels` (K, n)."""
        targets = torch.as_tensor(np.asarray(labels, dtype=np.float32), device=self.device)
        k, n = targets.shape
        params = [p.expand(k, *p.shape).clone() for p in self.init]
        exp_avgs = [torch.zeros_like(p) for p in params]
        exp_avg_sqs = [torch.zeros_like(p) for p in params]
        beta1, beta2 = ExactTrainer.BETAS
        decay = 1 - LEARNING_RATE * WEIGHT_DECAY
        step = 0
        for _ in range(EPOCHS):
            for start in range(0, n, BATCH_SIZE):
                xb, yb = self.x[start:start + BATCH_SIZE], targets[:, start:start + BATCH_SIZE]
                hidden, logits = self._forward(params, xb)
                grad_logits = (torch.sigmoid(logits) - yb) / xb.shape[0]              # (K, b)
                grad_hidden = grad_logits[:, :, None] * params[2]                     # (K, b, H)
                grad_w1 = (grad_hidden.transpose(1, 2).reshape(k * HIDDEN, -1) @ xb).view_as(params[0])
                grads = [grad_w1, grad_hidden.sum(1), torch.bmm(grad_logits[:, None, :], hidden),
                         grad_logits.sum(1, keepdim=True)]
                step += 1
                step_size = LEARNING_RATE / (1 - beta1 ** float(step))
                bias_correction2_sqrt = (1 - beta2 ** float(step)) ** 0.5
                for p, g, m, v in zip(params, grads, exp_avgs, exp_avg_sqs):
                    p.mul_(decay)
                    m.lerp_(g, 1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    p.addcdiv_(m, (v.sqrt() / bias_correction2_sqrt).add_(ExactTrainer.EPS), value=-step_size)
        return params

    def probabilities(self, params: list[torch.Tensor], x: torch.Tensor) -> np.ndarray:
        return torch.sigmoid(self._forward(params, x)[1]).cpu().numpy()

    def accuracies(self, labels: np.ndarray) -> list[float]:
        """Rounded test accuracy for each label row of `labels` (K, n), thresholds searched as the original."""
        return [rounded_share(c) for c in self.correctness(labels)]

    def correctness(self, labels: np.ndarray) -> list[np.ndarray]:
        """Per label row of `labels` (K, n), whether each test item is predicted right."""
        labels = np.asarray(labels)
        with torch.no_grad():
            params = self.fit(labels)
            train_p, test_p = self.probabilities(params, self.x), self.probabilities(params, self.test_x)
        return [item_correctness(train_p[i], labels[i], test_p[i], self.test_y) for i in range(len(labels))]

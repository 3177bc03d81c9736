# PLACEHOLDER: replaced by the adversarial-training work (issue 5).
def robust_accuracy(estimator, X, y, *, attack="pgd", eps, steps=10, random_state=None):
    raise NotImplementedError
